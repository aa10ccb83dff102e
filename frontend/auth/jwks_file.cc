#include "frontend/auth/jwks_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace ssebridge::frontend::auth {
namespace {

int64_t Nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Closes a descriptor on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

JwksFile::Stamp JwksFile::StampOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Stamp{};
  return Stamp{
      static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
      static_cast<int64_t>(st.st_size), Nanos(st.st_mtim), Nanos(st.st_ctim)};
}

absl::StatusOr<JwksFile::Snapshot> JwksFile::Read(const std::string& path,
                                                  Stamp* stamp) {
  const std::string name = absl::StrCat("JWKS file ", path);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(name, ": cannot open"));
  }
  FdCloser closer(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(name, ": cannot stat"));
  }
  *stamp = Stamp{
      static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
      static_cast<int64_t>(st.st_size), Nanos(st.st_mtim), Nanos(st.st_ctim)};
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": not a regular file"));
  }
  if (st.st_size > kMaxFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": ", st.st_size, " bytes (at most ", kMaxFileBytes, ")"));
  }
  std::string text;
  char buf[16384];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat(name, ": cannot read"));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (static_cast<int64_t>(text.size()) > kMaxFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": more than ", kMaxFileBytes, " bytes"));
    }
  }
  absl::StatusOr<std::shared_ptr<const Jwks>> keys = Jwks::Parse(text, name);
  if (!keys.ok()) return keys.status();
  return Snapshot{*std::move(keys), *stamp};
}

absl::StatusOr<std::unique_ptr<JwksFile>> JwksFile::Load(std::string path) {
  Stamp stamp;
  absl::StatusOr<Snapshot> first = Read(path, &stamp);
  if (!first.ok()) return first.status();
  spdlog::info("JWKS file {}: {} key(s) loaded (kid {})", path,
               first->keys->size(), first->keys->KidsForLog());
  return std::unique_ptr<JwksFile>(
      new JwksFile(std::move(path), *std::move(first)));
}

JwksFile::JwksFile(std::string path, Snapshot first)
    : path_(std::move(path)),
      seen_(first.stamp),
      keys_(std::move(first.keys)),
      next_check_(absl::Now() + kRecheckInterval) {}

std::shared_ptr<const Jwks> JwksFile::Current() {
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (now < next_check_) return keys_;
    next_check_ = now + kRecheckInterval;
  }
  // One caller checks; the others go on with the keys in force.
  if (read_mu_.TryLock()) {
    Refresh(/*force=*/false).IgnoreError();
    read_mu_.Unlock();
  }
  absl::MutexLock lock(&mu_);
  return keys_;
}

absl::Status JwksFile::Reload() {
  absl::MutexLock lock(&read_mu_);
  return Refresh(/*force=*/true);
}

absl::Status JwksFile::Refresh(bool force) {
  const Stamp now = StampOf(path_);
  if (!force && now == seen_) return absl::OkStatus();
  Stamp read_stamp = now;
  absl::StatusOr<Snapshot> next = Read(path_, &read_stamp);
  // A file that fails is logged once per version, not once per check.
  seen_ = read_stamp;
  if (!next.ok()) {
    spdlog::error("{}; keeping the keys loaded before",
                  std::string(next.status().message()));
    return next.status();
  }
  const size_t count = next->keys->size();
  const std::string kids = next->keys->KidsForLog();
  {
    absl::MutexLock lock(&mu_);
    keys_ = std::move(next->keys);
  }
  spdlog::info("JWKS file {}: {} key(s) loaded (kid {})", path_, count, kids);
  return absl::OkStatus();
}

}  // namespace ssebridge::frontend::auth

// JwksFile: a JWKS file on disk whose keys follow the file. Current() looks
// at the file again at most once per kRecheckInterval (on use; no thread of
// its own) and re-reads it when its inode, size or mtime changed; Reload()
// (for SIGHUP) re-reads it at once. A new key set replaces the old one
// atomically: a verification holds the set it started with. A file that is
// missing, unreadable or does not parse keeps the old keys and logs one
// error (spdlog) naming the file per change of the file. Load() at start-up
// returns the error instead (a config error naming the file).
//
// Thread-safety: thread-safe. File reads happen outside the lock that
// Current() takes on every call, and one at a time.
#ifndef SSEBRIDGE_FRONTEND_AUTH_JWKS_FILE_H_
#define SSEBRIDGE_FRONTEND_AUTH_JWKS_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "frontend/auth/jwks.h"

namespace ssebridge::frontend::auth {

class JwksFile {
 public:
  static constexpr absl::Duration kRecheckInterval = absl::Seconds(1);
  // Larger files are refused (a JWKS is a few kilobytes).
  static constexpr int64_t kMaxFileBytes = 1 << 20;

  // Reads and parses `path`; the error names the file.
  static absl::StatusOr<std::unique_ptr<JwksFile>> Load(std::string path);

  JwksFile(const JwksFile&) = delete;
  JwksFile& operator=(const JwksFile&) = delete;

  // The key set in force; first re-reads the file if it is due for a check
  // and has changed. Never null.
  std::shared_ptr<const Jwks> Current() ABSL_LOCKS_EXCLUDED(mu_, read_mu_);

  // Re-reads the file now, changed or not. On error the old keys stay and
  // the error (naming the file) is logged and returned.
  absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_, read_mu_);

  const std::string& path() const { return path_; }

 private:
  // What identifies a version of the file; all zero when it cannot be
  // stat()ed.
  struct Stamp {
    uint64_t device = 0;
    uint64_t inode = 0;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  struct Snapshot {
    std::shared_ptr<const Jwks> keys;
    Stamp stamp;
  };

  JwksFile(std::string path, Snapshot first);

  // Reads and parses the file, with the stamp it had before the read.
  static absl::StatusOr<Snapshot> Read(const std::string& path, Stamp* stamp);
  static Stamp StampOf(const std::string& path);
  // Re-reads if `force` or the file's stamp differs from the last one seen.
  absl::Status Refresh(bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);

  const std::string path_;
  // Held while the file is stat()ed and read: one reader at a time, and the
  // sets are installed in the order they were read.
  absl::Mutex read_mu_;
  Stamp seen_ ABSL_GUARDED_BY(read_mu_);

  absl::Mutex mu_;
  std::shared_ptr<const Jwks> keys_ ABSL_GUARDED_BY(mu_);
  absl::Time next_check_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ssebridge::frontend::auth

#endif  // SSEBRIDGE_FRONTEND_AUTH_JWKS_FILE_H_

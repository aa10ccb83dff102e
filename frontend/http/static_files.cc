#include "frontend/http/static_files.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "frontend/http/http_util.h"

namespace ssebridge::frontend {
namespace {

constexpr size_t kMaxFileBytes = 16 * 1024 * 1024;

std::string Canonical(const std::string& p) {
  char buf[PATH_MAX];
  if (realpath(p.c_str(), buf) == nullptr) return "";
  return buf;
}

}  // namespace

StaticFiles::StaticFiles(const std::string& root) {
  if (!root.empty()) root_ = Canonical(root);
}

absl::string_view StaticFiles::MimeFor(absl::string_view path) {
  const size_t dot = path.rfind('.');
  const std::string ext =
      dot == absl::string_view::npos
          ? ""
          : absl::AsciiStrToLower(path.substr(dot + 1));
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "gif") return "image/gif";
  if (ext == "ico") return "image/x-icon";
  if (ext == "webp") return "image/webp";
  if (ext == "woff2") return "font/woff2";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "map") return "application/json";
  return "application/octet-stream";
}

absl::StatusOr<StaticFile> StaticFiles::Load(
    absl::string_view request_path) const {
  if (root_.empty()) return absl::NotFoundError("no static root");
  absl::StatusOr<std::string> decoded = PercentDecode(request_path, false);
  if (!decoded.ok()) return decoded.status();
  const std::string& path = *decoded;
  if (path.empty() || path[0] != '/' ||
      path.find('\0') != std::string::npos ||
      path.find('\\') != std::string::npos) {
    return absl::InvalidArgumentError("bad path");
  }
  for (absl::string_view seg : absl::StrSplit(path, '/')) {
    if (seg == ".." || seg == ".") {
      return absl::InvalidArgumentError("path traversal");
    }
    if (!seg.empty() && seg[0] == '.') {
      return absl::NotFoundError("hidden file");  // .git, .env, ...
    }
  }
  std::string file = root_ + path;
  if (absl::EndsWith(file, "/")) file += "index.html";
  // Resolve symlinks and make sure the result is still under the root.
  std::string real = Canonical(file);
  if (real.empty()) return absl::NotFoundError("no such file");
  struct stat st;
  if (stat(real.c_str(), &st) != 0) return absl::NotFoundError("no such file");
  if (S_ISDIR(st.st_mode)) {
    real += "/index.html";
    real = Canonical(real);
    if (real.empty() || stat(real.c_str(), &st) != 0) {
      return absl::NotFoundError("no index");
    }
  }
  if (!absl::StartsWith(real, root_ + "/") || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError("outside root");
  }
  if (static_cast<size_t>(st.st_size) > kMaxFileBytes) {
    return absl::NotFoundError("file too large to serve");
  }
  std::ifstream in(real, std::ios::binary);
  if (!in) return absl::NotFoundError("unreadable");
  std::ostringstream body;
  body << in.rdbuf();
  StaticFile f;
  f.body = body.str();
  f.mime = std::string(MimeFor(real));
  f.etag = absl::StrFormat("\"%x-%x\"", static_cast<uint64_t>(st.st_size),
                           static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000 +
                               st.st_mtim.tv_nsec / 1000000);
  f.last_modified =
      absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT",
                       absl::FromTimeT(st.st_mtim.tv_sec), absl::UTCTimeZone());
  return f;
}

}  // namespace ssebridge::frontend

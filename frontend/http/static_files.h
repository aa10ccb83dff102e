// Static file serving for the demo page: maps a request path to a file under
// a root directory without letting it escape (no "..", no encoded dots or
// slashes, no symlink out of the root), with MIME types and an ETag for
// conditional requests. Filesystem reads only; thread-safe.
#ifndef SSEBRIDGE_FRONTEND_HTTP_STATIC_FILES_H_
#define SSEBRIDGE_FRONTEND_HTTP_STATIC_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ssebridge::frontend {

struct StaticFile {
  std::string body;
  std::string mime;
  std::string etag;           // quoted, e.g. "\"1a2b-5f\""
  std::string last_modified;  // IMF-fixdate
};

class StaticFiles {
 public:
  // `root` may be relative; it is resolved once here. Empty disables.
  explicit StaticFiles(const std::string& root);

  bool enabled() const { return !root_.empty(); }

  // NotFoundError for anything missing or outside the root,
  // InvalidArgumentError for malformed paths (bad escapes, NUL, "..").
  absl::StatusOr<StaticFile> Load(absl::string_view request_path) const;

  static absl::string_view MimeFor(absl::string_view path);

 private:
  std::string root_;  // canonical absolute path, no trailing slash
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_HTTP_STATIC_FILES_H_

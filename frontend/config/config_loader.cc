#include "frontend/config/config_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "frontend/config/config_defaults.h"
#include "frontend/config/config_error.h"
#include "frontend/config/config_validation.h"
#include "frontend/config/yaml_to_proto.h"

namespace ssebridge::frontend {

using ::ssebridge::config::v1::FrontendConfig;

absl::StatusOr<FrontendConfig> ParseConfigYaml(absl::string_view yaml,
                                               absl::string_view file) {
  FrontendConfig config;
  GivenKeys given;
  if (absl::Status s = YamlToProto(yaml, file, config, given); !s.ok()) {
    return s;
  }
  ApplyDefaults(given, config);
  if (absl::Status s = Validate(file, given, config); !s.ok()) return s;
  return config;
}

absl::StatusOr<FrontendConfig> LoadConfigFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    const std::string message =
        absl::StrCat(path, ": cannot open config file: ", std::strerror(e));
    if (e == ENOENT) return absl::NotFoundError(message);
    return absl::InvalidArgumentError(message);
  }
  std::string contents;
  std::string error;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    error = "is a directory, not a config file";
  } else {
    char buf[64 * 1024];
    while (true) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        contents.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        break;
      } else if (errno != EINTR) {
        error = absl::StrCat("cannot read config file: ", std::strerror(errno));
        break;
      }
    }
  }
  ::close(fd);
  if (!error.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", error));
  }
  return ParseConfigYaml(contents, path);
}

}  // namespace ssebridge::frontend

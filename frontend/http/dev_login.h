// The development login (Auth.dev_login): a form POST with a name gets a
// short-lived ES256 token, signed with a local key, in an HttpOnly,
// SameSite=Lax cookie, so that `make demo` shows per-user streams with no
// identity provider. Anyone can sign in as anyone: never enable it in front
// of real users. Endpoints (P = dev_login.path):
//   POST P         form name=NAME[&next=/local/path] -> 303 to next, cookie set
//   GET  P         {"sub": ..., "name": ..., "exp": ...} of the cookie, or 401
//   GET  P/logout  clears the cookie -> 303 to /
// Thread-safety: immutable after Create; Handle may run on any thread.
#ifndef SSEBRIDGE_FRONTEND_HTTP_DEV_LOGIN_H_
#define SSEBRIDGE_FRONTEND_HTTP_DEV_LOGIN_H_

#include <pistache/http.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "frontend/auth/token_signer.h"
#include "frontend/auth/token_verifier.h"
#include "ssebridge/config/v1/config.pb.h"

namespace ssebridge::frontend {

class DevLogin {
 public:
  // `verifier` checks the provider's tokens (for GET P); not owned.
  static absl::StatusOr<std::unique_ptr<DevLogin>> Create(
      const ssebridge::config::v1::DevLogin& config,
      const ssebridge::config::v1::AuthProvider& provider,
      const auth::TokenVerifier* verifier,
      absl::flat_hash_set<std::string> allowed_origins);

  // Whether `path` is one of its endpoints.
  bool Owns(const std::string& path) const {
    return path == path_ || path == logout_path_;
  }
  // `secure`: the client reached us over TLS (through a trusted edge), so
  // the cookie gets the Secure attribute.
  void Handle(const Pistache::Http::Request& request,
              Pistache::Http::ResponseWriter& response, bool secure) const;

  // A token for `name` as POST P issues it (tests and tools).
  absl::StatusOr<std::string> Issue(const std::string& name,
                                    absl::Time now) const;

 private:
  DevLogin() = default;

  std::string path_;
  std::string logout_path_;
  std::string issuer_;
  std::string audience_;
  std::string cookie_;
  absl::Duration ttl_;
  std::optional<auth::TokenSigner> signer_;
  const auth::TokenVerifier* verifier_ = nullptr;
  absl::flat_hash_set<std::string> allowed_origins_;
};

// A dev-login name: 1-32 letters, digits, '.', '_' or '-'.
bool IsValidLoginName(const std::string& name);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_HTTP_DEV_LOGIN_H_

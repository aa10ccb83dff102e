// TokenSigner: mints ES256 JWTs with a private EC P-256 key given as a JWK
// (the demo's development login signs its cookie token with it), and
// GenerateEs256KeyFiles, which creates such a key pair as two files: the
// private JWK for the signer and the public JWKS for a TokenVerifier.
//
// Thread-safety: a TokenSigner is immutable; Sign may run on any number of
// threads. GenerateEs256KeyFiles writes each file under a temporary name and
// renames it into place, so a reader sees the old file or the new one.
#ifndef SSEBRIDGE_FRONTEND_AUTH_TOKEN_SIGNER_H_
#define SSEBRIDGE_FRONTEND_AUTH_TOKEN_SIGNER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "frontend/auth/jwks.h"

namespace ssebridge::frontend::auth {

class TokenSigner {
 public:
  // `private_jwk_json`: one JWK with "kty":"EC", "crv":"P-256", "d" and a
  // "kid" (as GenerateEs256KeyFiles writes). Errors never quote key
  // material.
  static absl::StatusOr<TokenSigner> FromJwkJson(
      absl::string_view private_jwk_json);

  // A compact JWS over `claims_json` (a JSON object, signed as given) with
  // the header {"alg":"ES256","kid":<kid>,"typ":"JWT"}.
  absl::StatusOr<std::string> Sign(absl::string_view claims_json) const;

  const std::string& kid() const { return kid_; }

  // The public half as a JWK Set: {"keys":[{...,"alg":"ES256","use":"sig"}]}.
  std::string PublicJwksJson() const;

 private:
  TokenSigner(std::shared_ptr<cjose_jwk_t> key, std::string kid)
      : key_(std::move(key)), kid_(std::move(kid)) {}

  std::shared_ptr<cjose_jwk_t> key_;
  std::string kid_;
};

// Generates a new EC P-256 key pair with a random kid and writes the
// private JWK (mode 0600) to `private_jwk_path` and the public JWKS
// ({"keys":[...]}, mode 0644) to `public_jwks_path`, replacing what is
// there. The error names the file.
absl::Status GenerateEs256KeyFiles(const std::string& private_jwk_path,
                                   const std::string& public_jwks_path);

}  // namespace ssebridge::frontend::auth

#endif  // SSEBRIDGE_FRONTEND_AUTH_TOKEN_SIGNER_H_

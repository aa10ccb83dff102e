// Jwks: an immutable JSON Web Key Set (RFC 7517) of token verification
// keys, parsed with cjose: RSA (2048 bits or more), EC (P-256, P-384,
// P-521) and oct (256 bits or more) keys. A key that cannot be used — other
// types (OKP, ...), "use" other than "sig", "key_ops" without "verify", an
// "alg" that is no JWS algorithm of its type, too short, or not importable —
// is skipped with a warning (spdlog) naming it by kid and position; a set
// with no usable key is an error. TokenVerifier picks keys by kid and by
// Jwk::Fits(alg); nothing in a token can add a key.
//
// Thread-safety: immutable after Parse; share it as shared_ptr<const Jwks>.
#ifndef SSEBRIDGE_FRONTEND_AUTH_JWKS_H_
#define SSEBRIDGE_FRONTEND_AUTH_JWKS_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// cjose's handle type (cjose/jwk.h), declared here so that users of this
// header need not include cjose.
extern "C" {
typedef struct _cjose_jwk_int cjose_jwk_t;
}

namespace ssebridge::frontend::auth {

// True for the JWS algorithms this unit verifies: RS256 RS384 RS512 PS256
// PS384 PS512 ES256 ES384 ES512 HS256 HS384 HS512 (all that cjose 0.6.2
// implements). Never "none".
bool IsSupportedAlgorithm(absl::string_view alg);

// One verification key of a set.
class Jwk {
 public:
  enum class Type { kRsa, kEc, kOct };

  // Takes ownership of `key` (one cjose reference).
  Jwk(cjose_jwk_t* key, Type type, int bits, std::string kid, bool has_kid,
      std::string alg);

  // The JWK's "kid"; has_kid() is false when it has none.
  const std::string& kid() const { return kid_; }
  bool has_kid() const { return has_kid_; }
  Type type() const { return type_; }
  // RSA modulus, EC curve (256, 384, 521) or secret size, in bits.
  int bits() const { return bits_; }
  // The JWK's own "alg", empty when it names none.
  const std::string& alg() const { return alg_; }

  // True when a JWS whose header says `alg` may be checked with this key:
  // `alg` is supported, the key is of its family (RS*/PS* - RSA, ES* - EC
  // on the algorithm's own curve, HS* - oct at least as long as the hash),
  // and the JWK's "alg", if any, is `alg`. The token never chooses the
  // key type.
  bool Fits(absl::string_view alg) const;

  // For cjose_jws_verify; owned by this Jwk.
  const cjose_jwk_t* cjose_key() const { return key_.get(); }

 private:
  std::shared_ptr<cjose_jwk_t> key_;
  Type type_;
  int bits_;
  std::string kid_;
  bool has_kid_;
  std::string alg_;
};

class Jwks {
 public:
  // Parses {"keys": [...]}. `source` names the text in warnings and errors
  // (a file path, say). Errors: not JSON, no "keys" array, no usable key.
  static absl::StatusOr<std::shared_ptr<const Jwks>> Parse(
      absl::string_view json, absl::string_view source = "JWKS");

  // Usable keys, in file order.
  size_t size() const { return keys_.size(); }
  const std::vector<Jwk>& keys() const { return keys_; }

  // The kids of all keys, comma-separated, for logs ("-" for a key without).
  std::string KidsForLog() const;

 private:
  explicit Jwks(std::vector<Jwk> keys) : keys_(std::move(keys)) {}
  std::vector<Jwk> keys_;
};

}  // namespace ssebridge::frontend::auth

#endif  // SSEBRIDGE_FRONTEND_AUTH_JWKS_H_

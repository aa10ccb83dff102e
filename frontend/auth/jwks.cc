#include "frontend/auth/jwks.h"

#include <cjose/cjose.h>
#include <jansson.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "frontend/auth/jose_util.h"
#include "spdlog/spdlog.h"

namespace ssebridge::frontend::auth {
namespace {

using internal::Algorithm;
using internal::FindAlgorithm;
using internal::KeyFamily;
using internal::SanitizeForLog;

constexpr int kMinRsaBits = 2048;
constexpr int kMinOctBits = 256;

Jwk::Type TypeOf(KeyFamily family) {
  switch (family) {
    case KeyFamily::kRsa:
      return Jwk::Type::kRsa;
    case KeyFamily::kEc:
      return Jwk::Type::kEc;
    case KeyFamily::kOct:
      break;
  }
  return Jwk::Type::kOct;
}

// Members that cjose base64url-decodes, per key type. They must be strict
// base64url before cjose sees them (its decoder aborts on some bad input).
constexpr const char* kRsaFields[] = {"n", "e",  "d",  "p",
                                      "q", "dp", "dq", "qi"};
constexpr const char* kEcFields[] = {"x", "y", "d"};
constexpr const char* kOctFields[] = {"k"};

// A member that must be a string if present. nullptr if absent.
absl::StatusOr<const char*> OptionalString(json_t* obj, const char* name) {
  json_t* v = json_object_get(obj, name);
  if (v == nullptr) return nullptr;
  if (!json_is_string(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", name, "\" is not a string"));
  }
  return json_string_value(v);
}

absl::StatusOr<Jwk> ParseKey(json_t* obj, absl::string_view name,
                             absl::string_view source) {
  if (!json_is_object(obj)) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  absl::StatusOr<const char*> kty = OptionalString(obj, "kty");
  if (!kty.ok()) return kty.status();
  if (*kty == nullptr) return absl::InvalidArgumentError("no \"kty\"");
  const absl::string_view kty_name = *kty;
  KeyFamily family;
  absl::Span<const char* const> fields;
  if (kty_name == "RSA") {
    family = KeyFamily::kRsa;
    fields = kRsaFields;
  } else if (kty_name == "EC") {
    family = KeyFamily::kEc;
    fields = kEcFields;
  } else if (kty_name == "oct") {
    family = KeyFamily::kOct;
    fields = kOctFields;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported key type \"", SanitizeForLog(kty_name), "\""));
  }

  absl::StatusOr<const char*> kid = OptionalString(obj, "kid");
  if (!kid.ok()) return kid.status();
  absl::StatusOr<const char*> use = OptionalString(obj, "use");
  if (!use.ok()) return use.status();
  if (*use != nullptr && absl::string_view(*use) != "sig") {
    return absl::InvalidArgumentError(
        absl::StrCat("\"use\" is \"", SanitizeForLog(*use), "\", not \"sig\""));
  }
  if (json_t* ops = json_object_get(obj, "key_ops"); ops != nullptr) {
    bool verify = false;
    if (json_is_array(ops)) {
      size_t i;
      json_t* op;
      json_array_foreach(ops, i, op) {
        if (json_is_string(op) &&
            absl::string_view(json_string_value(op)) == "verify") {
          verify = true;
        }
      }
    }
    if (!verify) {
      return absl::InvalidArgumentError(
          "\"key_ops\" does not allow \"verify\"");
    }
  }
  absl::StatusOr<const char*> alg = OptionalString(obj, "alg");
  if (!alg.ok()) return alg.status();
  if (*alg != nullptr) {
    const Algorithm* a = FindAlgorithm(*alg);
    if (a == nullptr || a->family != family) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"alg\" \"", SanitizeForLog(*alg),
                       "\" is no JWS algorithm for a key of type ", kty_name));
    }
  }
  for (const char* field : fields) {
    absl::StatusOr<const char*> value = OptionalString(obj, field);
    if (!value.ok()) return value.status();
    if (*value != nullptr && !internal::IsBase64Url(*value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", field, "\" is not base64url (RFC 7515, unpadded)"));
    }
  }
  if (family == KeyFamily::kEc) {
    absl::StatusOr<const char*> crv = OptionalString(obj, "crv");
    if (!crv.ok()) return crv.status();
    const absl::string_view c = *crv == nullptr ? "" : *crv;
    if (c != "P-256" && c != "P-384" && c != "P-521") {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported curve \"", SanitizeForLog(c),
                       "\" (P-256, P-384, P-521)"));
    }
  }
  if (family == KeyFamily::kRsa && (json_object_get(obj, "n") == nullptr ||
                                    json_object_get(obj, "e") == nullptr)) {
    return absl::InvalidArgumentError("an RSA key needs \"n\" and \"e\"");
  }

  cjose_err err{};
  internal::JwkPtr key(cjose_jwk_import_json(obj, &err));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cjose cannot import it: ", internal::CjoseErrorText(err)));
  }
  const int bits = static_cast<int>(cjose_jwk_get_keysize(key.get(), &err));
  if (family == KeyFamily::kRsa && bits < kMinRsaBits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RSA key of ", bits, " bits (at least ", kMinRsaBits, " needed)"));
  }
  if (family == KeyFamily::kOct && bits < kMinOctBits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "oct key of ", bits, " bits (at least ", kMinOctBits, " needed)"));
  }
  if (family != KeyFamily::kOct && json_object_get(obj, "d") != nullptr) {
    spdlog::warn(
        "{}: {} holds private key material (\"d\"); a JWKS for verification "
        "needs only the public key",
        std::string(source), std::string(name));
  }
  return Jwk(key.release(), TypeOf(family), bits, *kid == nullptr ? "" : *kid,
             *kid != nullptr, *alg == nullptr ? "" : *alg);
}

}  // namespace

bool IsSupportedAlgorithm(absl::string_view alg) {
  return FindAlgorithm(alg) != nullptr;
}

Jwk::Jwk(cjose_jwk_t* key, Type type, int bits, std::string kid, bool has_kid,
         std::string alg)
    : key_(key, [](cjose_jwk_t* k) { cjose_jwk_release(k); }),
      type_(type),
      bits_(bits),
      kid_(std::move(kid)),
      has_kid_(has_kid),
      alg_(std::move(alg)) {}

bool Jwk::Fits(absl::string_view alg) const {
  const Algorithm* a = FindAlgorithm(alg);
  if (a == nullptr) return false;
  if (!alg_.empty() && alg_ != alg) return false;
  switch (a->family) {
    case KeyFamily::kRsa:
      return type_ == Type::kRsa;
    case KeyFamily::kEc:
      return type_ == Type::kEc && bits_ == a->ec_curve_bits;
    case KeyFamily::kOct:
      return type_ == Type::kOct && bits_ >= a->hash_bits;
  }
  return false;
}

absl::StatusOr<std::shared_ptr<const Jwks>> Jwks::Parse(
    absl::string_view json, absl::string_view source) {
  absl::StatusOr<internal::JsonPtr> root = internal::ParseJsonObject(json);
  if (!root.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", root.status().message()));
  }
  json_t* keys = json_object_get(root->get(), "keys");
  if (!json_is_array(keys)) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no \"keys\" array (a JWK Set, RFC 7517 5)"));
  }
  std::vector<Jwk> usable;
  size_t index;
  json_t* entry;
  json_array_foreach(keys, index, entry) {
    std::string name = absl::StrCat("key #", index);
    if (json_t* kid = json_object_get(entry, "kid"); json_is_string(kid)) {
      absl::StrAppend(&name, " (kid \"", SanitizeForLog(json_string_value(kid)),
                      "\")");
    }
    absl::StatusOr<Jwk> key = ParseKey(entry, name, source);
    if (!key.ok()) {
      spdlog::warn("{}: {} skipped: {}", std::string(source), name,
                   std::string(key.status().message()));
      continue;
    }
    usable.push_back(*std::move(key));
  }
  if (usable.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no usable key (", json_array_size(keys),
                     " in the set; RSA, EC P-256/384/521 and oct are "
                     "supported)"));
  }
  return std::shared_ptr<const Jwks>(new Jwks(std::move(usable)));
}

std::string Jwks::KidsForLog() const {
  return absl::StrJoin(keys_, ",", [](std::string* out, const Jwk& k) {
    out->append(k.has_kid() ? SanitizeForLog(k.kid()) : "-");
  });
}

}  // namespace ssebridge::frontend::auth

#include "frontend/auth/token_verifier.h"

#include <cjose/cjose.h>
#include <jansson.h>

#include <cstdint>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "frontend/auth/jose_util.h"

namespace ssebridge::frontend::auth {
namespace {

using internal::Algorithm;
using internal::SanitizeForLog;

TokenVerifier::Result Refuse(Refusal refusal, std::string detail) {
  TokenVerifier::Result r;
  r.refusal = refusal;
  r.detail = std::move(detail);
  return r;
}

absl::string_view TypeName(Jwk::Type type) {
  switch (type) {
    case Jwk::Type::kRsa:
      return "RSA";
    case Jwk::Type::kEc:
      return "EC";
    case Jwk::Type::kOct:
      return "oct";
  }
  return "?";
}

std::string KeyName(const Jwk& key) {
  return key.has_kid() ? absl::StrCat("key \"", SanitizeForLog(key.kid()), "\"")
                       : std::string("key without kid");
}

// A NumericDate (RFC 7519 2): seconds since the epoch, integer or not.
absl::Time NumericDate(const json_t* value) {
  if (json_is_integer(value)) {
    return absl::FromUnixSeconds(
        static_cast<int64_t>(json_integer_value(value)));
  }
  return absl::UnixEpoch() + absl::Seconds(json_real_value(value));
}

// The decoded length of strict base64url text of `chars` characters.
size_t DecodedSize(size_t chars) { return chars * 3 / 4; }

}  // namespace

absl::string_view RefusalName(Refusal r) {
  switch (r) {
    case Refusal::kMalformed:
      return "malformed";
    case Refusal::kTooLarge:
      return "too_large";
    case Refusal::kAlgorithm:
      return "algorithm";
    case Refusal::kUnknownKey:
      return "unknown_key";
    case Refusal::kSignature:
      return "signature";
    case Refusal::kExpired:
      return "expired";
    case Refusal::kNotYetValid:
      return "not_yet_valid";
    case Refusal::kIssuer:
      return "issuer";
    case Refusal::kAudience:
      return "audience";
    case Refusal::kMissingClaim:
      return "missing_claim";
  }
  return "malformed";
}

absl::Status ValidateProviderSettings(const ProviderSettings& s) {
  const std::string who = absl::StrCat("auth provider \"", s.name, "\": ");
  if (s.name.empty()) {
    return absl::InvalidArgumentError("auth provider: no name");
  }
  if (s.issuer.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(who, "no issuer"));
  }
  if (s.audiences.empty() || absl::c_linear_search(s.audiences, "")) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, "audiences must name at least one, none empty"));
  }
  if (s.algorithms.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(who, "no algorithms"));
  }
  for (const std::string& alg : s.algorithms) {
    if (!IsSupportedAlgorithm(alg)) {
      return absl::InvalidArgumentError(absl::StrCat(
          who, "algorithm \"", alg,
          "\" is not supported (RS256 RS384 RS512 PS256 PS384 PS512 ES256 "
          "ES384 ES512 HS256 HS384 HS512)"));
    }
  }
  if (s.leeway < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(who, "negative leeway"));
  }
  if (s.max_token_bytes == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, "max_token_bytes is 0"));
  }
  return absl::OkStatus();
}

TokenVerifier::TokenVerifier(ProviderSettings settings,
                             std::shared_ptr<JwksFile> keys)
    : settings_(std::move(settings)), file_(std::move(keys)) {}

TokenVerifier::TokenVerifier(ProviderSettings settings,
                             std::shared_ptr<const Jwks> keys)
    : settings_(std::move(settings)), fixed_keys_(std::move(keys)) {}

std::shared_ptr<const Jwks> TokenVerifier::Keys() const {
  if (file_ != nullptr) return file_->Current();
  return fixed_keys_;
}

TokenVerifier::Result TokenVerifier::Verify(absl::string_view token,
                                            absl::Time now) const {
  // 1. Size, before anything else is done with it.
  if (token.size() > settings_.max_token_bytes) {
    return Refuse(Refusal::kTooLarge,
                  absl::StrCat("token of ", token.size(), " bytes (at most ",
                               settings_.max_token_bytes, ")"));
  }

  // 2. Form: header.payload.signature, each strict base64url.
  const size_t dot1 = token.find('.');
  const size_t dot2 =
      dot1 == absl::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == absl::string_view::npos ||
      token.find('.', dot2 + 1) != absl::string_view::npos) {
    return Refuse(Refusal::kMalformed,
                  "not a compact JWS (header.payload.signature)");
  }
  const absl::string_view header_b64 = token.substr(0, dot1);
  const absl::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const absl::string_view signature_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || !internal::IsBase64Url(header_b64) ||
      !internal::IsBase64Url(payload_b64) ||
      !internal::IsBase64Url(signature_b64)) {
    return Refuse(Refusal::kMalformed, "a part is not base64url");
  }
  const std::optional<std::string> header_text =
      internal::Base64UrlDecode(header_b64);
  absl::StatusOr<internal::JsonPtr> header =
      internal::ParseJsonObject(header_text.value_or(""));
  if (!header.ok()) {
    return Refuse(Refusal::kMalformed,
                  absl::StrCat("header: ", header.status().message()));
  }
  const json_t* alg_json = json_object_get(header->get(), "alg");
  if (!json_is_string(alg_json)) {
    return Refuse(Refusal::kMalformed,
                  "header: \"alg\" missing or not a string");
  }
  const absl::string_view alg(json_string_value(alg_json),
                              json_string_length(alg_json));
  const json_t* kid_json = json_object_get(header->get(), "kid");
  if (kid_json != nullptr && !json_is_string(kid_json)) {
    return Refuse(Refusal::kMalformed, "header: \"kid\" is not a string");
  }
  if (json_object_get(header->get(), "crit") != nullptr) {
    // No extension is understood, so none may be critical (RFC 7515 4.1.11).
    return Refuse(Refusal::kMalformed, "header: \"crit\" is not supported");
  }

  // 3. Algorithm: supported and allowed for this provider.
  const Algorithm* algorithm = internal::FindAlgorithm(alg);
  if (algorithm == nullptr) {
    return Refuse(
        Refusal::kAlgorithm,
        absl::StrCat("alg \"", SanitizeForLog(alg), "\" is not supported"));
  }
  if (!absl::c_linear_search(settings_.algorithms, alg)) {
    return Refuse(
        Refusal::kAlgorithm,
        absl::StrCat("alg ", algorithm->name, " is not allowed for provider \"",
                     settings_.name, "\""));
  }

  // 4. Key: chosen by kid and by what the alg needs, never by the token.
  const std::shared_ptr<const Jwks> keys = Keys();
  if (keys == nullptr) {
    return Refuse(Refusal::kUnknownKey, "no key set");
  }
  std::vector<const Jwk*> fitting;
  if (kid_json != nullptr) {
    const absl::string_view kid(json_string_value(kid_json),
                                json_string_length(kid_json));
    const Jwk* named = nullptr;
    for (const Jwk& key : keys->keys()) {
      if (!key.has_kid() || key.kid() != kid) continue;
      named = &key;
      if (key.Fits(alg)) fitting.push_back(&key);
    }
    if (named == nullptr) {
      return Refuse(
          Refusal::kUnknownKey,
          absl::StrCat("no key with kid \"", SanitizeForLog(kid), "\""));
    }
    if (fitting.empty()) {
      return Refuse(Refusal::kAlgorithm,
                    absl::StrCat("alg ", algorithm->name, " does not fit ",
                                 KeyName(*named), " (", TypeName(named->type()),
                                 ", ", named->bits(), " bits",
                                 named->alg().empty() ? "" : ", alg ",
                                 SanitizeForLog(named->alg()), ")"));
    }
    if (fitting.size() > 1) {
      return Refuse(
          Refusal::kUnknownKey,
          absl::StrCat(fitting.size(), " keys with kid \"", SanitizeForLog(kid),
                       "\" fit alg ", algorithm->name));
    }
  } else {
    for (const Jwk& key : keys->keys()) {
      if (key.Fits(alg)) fitting.push_back(&key);
    }
    if (fitting.empty()) {
      return Refuse(Refusal::kAlgorithm,
                    absl::StrCat("no key in the set fits alg ", algorithm->name,
                                 " (token has no kid)"));
    }
    if (fitting.size() > 1) {
      return Refuse(Refusal::kUnknownKey,
                    absl::StrCat("token has no kid and ", fitting.size(),
                                 " keys fit alg ", algorithm->name));
    }
  }
  const Jwk& key = *fitting.front();

  // 5. Signature. Its length first: cjose's HMAC check compares as many
  // bytes as the digest has before it looks at the signature's length, and
  // its EC check splits whatever it gets in two.
  size_t want = 0;
  switch (algorithm->family) {
    case internal::KeyFamily::kRsa:
      want = static_cast<size_t>(key.bits()) / 8;
      break;
    case internal::KeyFamily::kEc:
      want = algorithm->ec_sig_bytes;
      break;
    case internal::KeyFamily::kOct:
      want = static_cast<size_t>(algorithm->hash_bits) / 8;
      break;
  }
  const size_t got = DecodedSize(signature_b64.size());
  if (got != want) {
    return Refuse(
        Refusal::kSignature,
        absl::StrCat("signature of ", got, " bytes, ", algorithm->name,
                     " with ", KeyName(key), " needs ", want));
  }
  cjose_err err{};
  internal::JwsPtr jws(cjose_jws_import(token.data(), token.size(), &err));
  if (jws == nullptr) {
    return Refuse(Refusal::kMalformed,
                  absl::StrCat("cjose cannot import the token: ",
                               internal::CjoseErrorText(err)));
  }
  if (!cjose_jws_verify(jws.get(), key.cjose_key(), &err)) {
    return Refuse(Refusal::kSignature,
                  absl::StrCat("signature does not verify (", algorithm->name,
                               ", ", KeyName(key), ")"));
  }
  uint8_t* payload = nullptr;
  size_t payload_len = 0;
  if (!cjose_jws_get_plaintext(jws.get(), &payload, &payload_len, &err)) {
    return Refuse(Refusal::kMalformed,
                  absl::StrCat("no payload: ", internal::CjoseErrorText(err)));
  }

  // 6. Claims.
  return CheckClaims(
      settings_,
      absl::string_view(reinterpret_cast<const char*>(payload), payload_len),
      now);
}

TokenVerifier::Result CheckClaims(const ProviderSettings& s,
                                  absl::string_view claims_json,
                                  absl::Time now) {
  absl::StatusOr<internal::JsonPtr> root =
      internal::ParseJsonObject(claims_json);
  if (!root.ok()) {
    return Refuse(Refusal::kMalformed,
                  absl::StrCat("claims: ", root.status().message()));
  }
  json_t* claims = root->get();
  const json_t* iss = json_object_get(claims, "iss");
  const json_t* aud = json_object_get(claims, "aud");
  const json_t* exp = json_object_get(claims, "exp");
  const json_t* nbf = json_object_get(claims, "nbf");
  const json_t* sub = json_object_get(claims, "sub");

  std::vector<absl::string_view> missing;
  if (iss == nullptr) missing.push_back("iss");
  if (aud == nullptr) missing.push_back("aud");
  if (exp == nullptr) missing.push_back("exp");
  if (!missing.empty()) {
    return Refuse(Refusal::kMissingClaim,
                  absl::StrCat("no ", absl::StrJoin(missing, ", no ")));
  }

  if (!json_is_number(exp)) {
    return Refuse(Refusal::kMalformed, "claims: \"exp\" is not a number");
  }
  if (nbf != nullptr && !json_is_number(nbf)) {
    return Refuse(Refusal::kMalformed, "claims: \"nbf\" is not a number");
  }
  if (!json_is_string(iss)) {
    return Refuse(Refusal::kMalformed, "claims: \"iss\" is not a string");
  }
  if (sub != nullptr && !json_is_string(sub)) {
    return Refuse(Refusal::kMalformed, "claims: \"sub\" is not a string");
  }
  std::vector<absl::string_view> audiences;
  if (json_is_string(aud)) {
    audiences.emplace_back(json_string_value(aud), json_string_length(aud));
  } else if (json_is_array(aud)) {
    size_t i;
    json_t* a;
    json_array_foreach(aud, i, a) {
      if (!json_is_string(a)) {
        return Refuse(Refusal::kMalformed,
                      "claims: \"aud\" holds something other than strings");
      }
      audiences.emplace_back(json_string_value(a), json_string_length(a));
    }
  } else {
    return Refuse(Refusal::kMalformed,
                  "claims: \"aud\" is neither a string nor an array");
  }

  const absl::string_view issuer(json_string_value(iss),
                                 json_string_length(iss));
  if (issuer != s.issuer) {
    return Refuse(
        Refusal::kIssuer,
        absl::StrCat("iss \"", SanitizeForLog(issuer),
                     "\" is not the issuer of provider \"", s.name, "\""));
  }
  const bool audience_ok = absl::c_any_of(audiences, [&](absl::string_view a) {
    return absl::c_linear_search(s.audiences, a);
  });
  if (!audience_ok) {
    std::vector<std::string> shown;
    for (size_t i = 0; i < audiences.size() && i < 4; ++i) {
      shown.push_back(SanitizeForLog(audiences[i], 40));
    }
    if (audiences.size() > 4) shown.push_back("...");
    return Refuse(
        Refusal::kAudience,
        absl::StrCat("aud [", absl::StrJoin(shown, ", "),
                     "] names no audience of provider \"", s.name, "\""));
  }

  const absl::Time expires = NumericDate(exp);
  if (now > expires + s.leeway) {
    return Refuse(
        Refusal::kExpired,
        absl::StrCat("expired ", absl::FormatDuration(now - expires),
                     " ago (leeway ", absl::FormatDuration(s.leeway), ")"));
  }
  if (nbf != nullptr) {
    const absl::Time not_before = NumericDate(nbf);
    if (now < not_before - s.leeway) {
      return Refuse(
          Refusal::kNotYetValid,
          absl::StrCat("valid only in ", absl::FormatDuration(not_before - now),
                       " (leeway ", absl::FormatDuration(s.leeway), ")"));
    }
  }

  VerifiedToken token;
  token.provider = s.name;
  if (sub != nullptr) {
    token.subject.assign(json_string_value(sub), json_string_length(sub));
  }
  token.expires = expires;
  const char* name;
  json_t* value;
  json_object_foreach(claims, name, value) {
    token.claims.emplace(name, json_is_string(value)
                                   ? std::string(json_string_value(value),
                                                 json_string_length(value))
                                   : internal::CompactJson(value));
  }
  TokenVerifier::Result result;
  result.token = std::move(token);
  return result;
}

}  // namespace ssebridge::frontend::auth

// OpenSSL's RSA accessors are deprecated in 3.0 but are what cjose hands out.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "frontend/auth/test_tokens.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ssebridge::frontend::auth::testing {
namespace {

[[noreturn]] void Die(const char* what, const cjose_err& err) {
  std::fprintf(stderr, "test_tokens: %s: %s\n", what,
               err.message != nullptr ? err.message : "?");
  std::abort();
}

TestKey Wrap(cjose_jwk_t* raw, std::string kid, const char* what,
             const cjose_err& err) {
  if (raw == nullptr) Die(what, err);
  cjose_err kid_err{};
  if (!cjose_jwk_set_kid(raw, kid.data(), kid.size(), &kid_err)) {
    Die("cjose_jwk_set_kid", kid_err);
  }
  return TestKey{std::shared_ptr<cjose_jwk_t>(
                     raw, [](cjose_jwk_t* k) { cjose_jwk_release(k); }),
                 std::move(kid)};
}

std::string ToJson(const cjose_jwk_t* jwk, bool with_private,
                   absl::string_view extra) {
  cjose_err err{};
  char* text = cjose_jwk_to_json(jwk, with_private, &err);
  if (text == nullptr) Die("cjose_jwk_to_json", err);
  std::string out(text);
  cjose_get_dealloc()(text);
  if (!extra.empty()) {
    out.pop_back();  // '}'
    absl::StrAppend(&out, ",", extra, "}");
  }
  return out;
}

}  // namespace

std::string TestKey::PublicJwk(absl::string_view extra) const {
  cjose_err err{};
  const bool secret = cjose_jwk_get_kty(jwk.get(), &err) == CJOSE_JWK_KTY_OCT;
  return ToJson(jwk.get(), secret, extra);
}

std::string TestKey::PrivateJwk() const { return ToJson(jwk.get(), true, ""); }

TestKey NewRsaKey(std::string kid, int bits) {
  static const uint8_t kE[] = {0x01, 0x00, 0x01};
  cjose_err err{};
  return Wrap(cjose_jwk_create_RSA_random(bits, kE, sizeof kE, &err),
              std::move(kid), "cjose_jwk_create_RSA_random", err);
}

TestKey NewEcKey(std::string kid, cjose_jwk_ec_curve curve) {
  cjose_err err{};
  return Wrap(cjose_jwk_create_EC_random(curve, &err), std::move(kid),
              "cjose_jwk_create_EC_random", err);
}

TestKey NewOctKey(std::string kid, int bits) {
  cjose_err err{};
  return Wrap(cjose_jwk_create_oct_random(bits, &err), std::move(kid),
              "cjose_jwk_create_oct_random", err);
}

TestKey OctKeyFromBytes(std::string kid, absl::string_view bytes) {
  cjose_err err{};
  return Wrap(
      cjose_jwk_create_oct_spec(reinterpret_cast<const uint8_t*>(bytes.data()),
                                bytes.size(), &err),
      std::move(kid), "cjose_jwk_create_oct_spec", err);
}

std::string RsaPublicPem(const TestKey& rsa) {
  cjose_err err{};
  RSA* key = static_cast<RSA*>(cjose_jwk_get_keydata(rsa.jwk.get(), &err));
  BIO* bio = BIO_new(BIO_s_mem());
  if (key == nullptr || bio == nullptr ||
      PEM_write_bio_RSA_PUBKEY(bio, key) != 1) {
    std::fprintf(stderr, "test_tokens: cannot write the RSA PEM\n");
    std::abort();
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

std::string JwksOf(std::initializer_list<std::string> jwks) {
  return absl::StrCat("{\"keys\":[", absl::StrJoin(jwks, ","), "]}");
}

std::string Sign(const TestKey& key, absl::string_view header_json,
                 absl::string_view payload) {
  json_error_t jerr;
  json_t* header = json_loadb(header_json.data(), header_json.size(), 0, &jerr);
  if (header == nullptr) {
    std::fprintf(stderr, "test_tokens: bad header JSON: %s\n", jerr.text);
    std::abort();
  }
  cjose_err err{};
  cjose_jws_t* jws = cjose_jws_sign(
      key.jwk.get(), header, reinterpret_cast<const uint8_t*>(payload.data()),
      payload.size(), &err);
  json_decref(header);
  if (jws == nullptr) Die("cjose_jws_sign", err);
  const char* compact = nullptr;
  if (!cjose_jws_export(jws, &compact, &err)) Die("cjose_jws_export", err);
  std::string token(compact);
  cjose_jws_release(jws);
  return token;
}

std::string B64(absl::string_view bytes) {
  return absl::WebSafeBase64Escape(bytes);
}

std::string RawToken(absl::string_view header_json, absl::string_view payload,
                     absl::string_view signature) {
  return absl::StrCat(B64(header_json), ".", B64(payload), ".", B64(signature));
}

std::string Claims(absl::string_view iss, absl::string_view aud_json,
                   int64_t exp, int64_t nbf, absl::string_view extra) {
  std::string out = absl::StrCat("{\"iss\":\"", iss, "\",\"aud\":", aud_json,
                                 ",\"sub\":\"alice\",\"exp\":", exp);
  if (nbf != 0) absl::StrAppend(&out, ",\"nbf\":", nbf);
  if (!extra.empty()) absl::StrAppend(&out, ",", extra);
  out.push_back('}');
  return out;
}

absl::Time TestNow() { return absl::FromUnixSeconds(TestNowUnix()); }
int64_t TestNowUnix() { return 1735689600; }  // 2025-01-01T00:00:00Z

}  // namespace ssebridge::frontend::auth::testing

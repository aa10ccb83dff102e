#include "frontend/auth/token_signer.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "frontend/auth/jose_util.h"

namespace ssebridge::frontend::auth {
namespace {

using internal::CjoseErrorText;
using internal::JsonPtr;

// Pretty JSON text of `value` (for files people may read), newline-ended.
std::string PrettyJson(const json_t* value) {
  char* text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  std::string out = text != nullptr ? text : "null";
  json_malloc_t unused_malloc;
  json_free_t json_free;
  json_get_alloc_funcs(&unused_malloc, &json_free);
  if (text != nullptr) json_free(text);
  out.push_back('\n');
  return out;
}

// The JWK of `key` (private members too if `with_private`), with "alg" and
// "use" added.
absl::StatusOr<JsonPtr> JwkObject(const cjose_jwk_t* key, bool with_private) {
  cjose_err err{};
  internal::CjoseString text(cjose_jwk_to_json(key, with_private, &err));
  if (text == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot serialise the key: ", CjoseErrorText(err)));
  }
  absl::StatusOr<JsonPtr> jwk = internal::ParseJsonObject(text.get());
  if (!jwk.ok()) return jwk.status();
  json_object_set_new(jwk->get(), "alg", json_string("ES256"));
  json_object_set_new(jwk->get(), "use", json_string("sig"));
  return jwk;
}

absl::StatusOr<std::string> PublicJwks(const cjose_jwk_t* key) {
  absl::StatusOr<JsonPtr> jwk = JwkObject(key, /*with_private=*/false);
  if (!jwk.ok()) return jwk.status();
  JsonPtr keys(json_array());
  json_array_append(keys.get(), jwk->get());
  JsonPtr set(json_object());
  json_object_set(set.get(), "keys", keys.get());
  return PrettyJson(set.get());
}

// Writes `contents` to `path` through a temporary file in the same folder
// that is renamed into place, with permissions `mode`.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents, mode_t mode) {
  std::string tmp = path + ".tmp.XXXXXX";
  std::vector<char> name(tmp.begin(), tmp.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());  // created 0600
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot create"));
  }
  tmp.assign(name.data());
  auto fail = [&](const char* what) {
    const int saved = errno;
    close(fd);
    unlink(tmp.c_str());
    return absl::ErrnoToStatus(saved, absl::StrCat(path, ": ", what));
  };
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (fchmod(fd, mode) != 0) return fail("cannot chmod");
  if (fsync(fd) != 0) return fail("cannot sync");
  if (close(fd) != 0) {
    const int saved = errno;
    unlink(tmp.c_str());
    return absl::ErrnoToStatus(saved, absl::StrCat(path, ": cannot close"));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    unlink(tmp.c_str());
    return absl::ErrnoToStatus(saved, absl::StrCat(path, ": cannot rename"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TokenSigner> TokenSigner::FromJwkJson(
    absl::string_view private_jwk_json) {
  absl::StatusOr<JsonPtr> obj = internal::ParseJsonObject(private_jwk_json);
  if (!obj.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("private JWK: ", obj.status().message()));
  }
  auto member = [&](const char* name) -> absl::string_view {
    const json_t* v = json_object_get(obj->get(), name);
    return json_is_string(v)
               ? absl::string_view(json_string_value(v), json_string_length(v))
               : absl::string_view();
  };
  if (member("kty") != "EC" || member("crv") != "P-256") {
    return absl::InvalidArgumentError(
        "private JWK: not an EC P-256 key (\"kty\":\"EC\",\"crv\":\"P-256\")");
  }
  if (member("kid").empty()) {
    return absl::InvalidArgumentError("private JWK: no \"kid\"");
  }
  if (member("d").empty()) {
    return absl::InvalidArgumentError(
        "private JWK: no private key (\"d\"); is this the public key?");
  }
  for (const char* field : {"d", "x", "y"}) {
    const json_t* v = json_object_get(obj->get(), field);
    if (v != nullptr &&
        (!json_is_string(v) || !internal::IsBase64Url(member(field)))) {
      return absl::InvalidArgumentError(
          absl::StrCat("private JWK: \"", field,
                       "\" is not base64url (RFC 7515, unpadded)"));
    }
  }
  cjose_err err{};
  cjose_jwk_t* raw = cjose_jwk_import_json(obj->get(), &err);
  if (raw == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "private JWK: cjose cannot import it: ", CjoseErrorText(err)));
  }
  std::shared_ptr<cjose_jwk_t> key(
      raw, [](cjose_jwk_t* k) { cjose_jwk_release(k); });
  if (cjose_jwk_get_kty(key.get(), &err) != CJOSE_JWK_KTY_EC ||
      cjose_jwk_EC_get_curve(key.get(), &err) != CJOSE_JWK_EC_P_256) {
    return absl::InvalidArgumentError("private JWK: not an EC P-256 key");
  }
  return TokenSigner(std::move(key), std::string(member("kid")));
}

absl::StatusOr<std::string> TokenSigner::Sign(
    absl::string_view claims_json) const {
  absl::StatusOr<JsonPtr> claims = internal::ParseJsonObject(claims_json);
  if (!claims.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("claims: ", claims.status().message()));
  }
  cjose_err err{};
  JsonPtr header(cjose_header_new(&err));
  if (header == nullptr ||
      !cjose_header_set(header.get(), CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256,
                        &err) ||
      !cjose_header_set(header.get(), CJOSE_HDR_KID, kid_.c_str(), &err) ||
      !cjose_header_set(header.get(), "typ", "JWT", &err)) {
    return absl::InternalError(
        absl::StrCat("cannot build the JWS header: ", CjoseErrorText(err)));
  }
  internal::JwsPtr jws(
      cjose_jws_sign(key_.get(), header.get(),
                     reinterpret_cast<const uint8_t*>(claims_json.data()),
                     claims_json.size(), &err));
  if (jws == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot sign: ", CjoseErrorText(err)));
  }
  const char* compact = nullptr;
  if (!cjose_jws_export(jws.get(), &compact, &err) || compact == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot serialise the JWS: ", CjoseErrorText(err)));
  }
  return std::string(compact);
}

std::string TokenSigner::PublicJwksJson() const {
  absl::StatusOr<std::string> jwks = PublicJwks(key_.get());
  return jwks.ok() ? *jwks : std::string();
}

absl::Status GenerateEs256KeyFiles(const std::string& private_jwk_path,
                                   const std::string& public_jwks_path) {
  cjose_err err{};
  internal::JwkPtr key(cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err));
  if (key == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot generate an EC P-256 key: ", CjoseErrorText(err)));
  }
  unsigned char random[12];
  if (RAND_bytes(random, sizeof random) != 1) {
    return absl::InternalError("cannot draw a random kid (RAND_bytes)");
  }
  const std::string kid = internal::Base64UrlEncode(
      absl::string_view(reinterpret_cast<const char*>(random), sizeof random));
  if (!cjose_jwk_set_kid(key.get(), kid.data(), kid.size(), &err)) {
    return absl::InternalError(
        absl::StrCat("cannot set the kid: ", CjoseErrorText(err)));
  }
  absl::StatusOr<JsonPtr> private_jwk = JwkObject(key.get(), true);
  if (!private_jwk.ok()) return private_jwk.status();
  absl::StatusOr<std::string> public_jwks = PublicJwks(key.get());
  if (!public_jwks.ok()) return public_jwks.status();

  // The private key first; a public key set on disk then always has its
  // private key written before it.
  if (absl::Status s = WriteFileAtomically(
          private_jwk_path, PrettyJson(private_jwk->get()), 0600);
      !s.ok()) {
    return s;
  }
  return WriteFileAtomically(public_jwks_path, *public_jwks, 0644);
}

}  // namespace ssebridge::frontend::auth

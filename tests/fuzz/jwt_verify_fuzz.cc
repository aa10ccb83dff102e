// libFuzzer target: TokenVerifier::Verify on arbitrary bytes, against a
// fixed JWKS of an RSA, an EC and an oct key (made once per run; the oct
// secret is a constant so that seed tokens are validly signed). Any input
// must give a verdict — never a crash, a hang or a detail that repeats the
// token.
//
// Two ways in: the input as the token itself; or, when it starts with '{',
// "header JSON \n payload \n signature" to be base64url-encoded into one
// (so mutations reach the JSON parsers), where a signature of "HS256"
// means "sign it properly with the oct key" (so they reach CheckClaims
// through a good signature). Every input also goes to CheckClaims and
// Jwks::Parse directly.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "frontend/auth/jwks.h"
#include "frontend/auth/test_tokens.h"
#include "frontend/auth/token_verifier.h"
#include "spdlog/spdlog.h"

namespace {

using ssebridge::frontend::auth::CheckClaims;
using ssebridge::frontend::auth::Jwks;
using ssebridge::frontend::auth::ProviderSettings;
using ssebridge::frontend::auth::TokenVerifier;
namespace t = ssebridge::frontend::auth::testing;

constexpr absl::string_view kOctSecret = "fuzz-secret-0123456789abcdefghij";

struct Fixture {
  Fixture() {
    spdlog::set_level(spdlog::level::off);  // Jwks::Parse warns per key
    const t::TestKey rsa = t::NewRsaKey("rsa-1");
    const t::TestKey ec = t::NewEcKey("ec-1");
    const t::TestKey oct = t::OctKeyFromBytes("oct-1", kOctSecret);
    auto jwks = Jwks::Parse(
        t::JwksOf({rsa.PublicJwk(), ec.PublicJwk(), oct.PublicJwk()}));
    if (!jwks.ok()) std::abort();
    settings.name = "corp";
    settings.issuer = "https://id.example.com";
    settings.audiences = {"api"};
    settings.algorithms = {"RS256", "RS384", "RS512", "PS256",
                           "PS384", "PS512", "ES256", "ES384",
                           "ES512", "HS256", "HS384", "HS512"};
    verifier = std::make_unique<TokenVerifier>(settings, *jwks);
  }
  ProviderSettings settings;
  std::unique_ptr<TokenVerifier> verifier;
};

std::string HmacSha256(absl::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kOctSecret.data(), static_cast<int>(kOctSecret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
       &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

// "header\npayload\nsignature" -> a compact JWS.
std::string Assemble(absl::string_view input) {
  const size_t a = input.find('\n');
  const size_t b = a == absl::string_view::npos ? a : input.find('\n', a + 1);
  const absl::string_view header = input.substr(0, a);
  const absl::string_view payload =
      a == absl::string_view::npos ? "" : input.substr(a + 1, b - a - 1);
  const absl::string_view signature =
      b == absl::string_view::npos ? "" : input.substr(b + 1);
  std::string signing_input =
      absl::StrCat(absl::WebSafeBase64Escape(header), ".",
                   absl::WebSafeBase64Escape(payload));
  const std::string sig =
      signature == "HS256" ? HmacSha256(signing_input) : std::string(signature);
  return absl::StrCat(signing_input, ".", absl::WebSafeBase64Escape(sig));
}

// The same token with one letter or digit changed (empty if it has none):
// the probe that tells an echo from a constant message that merely contains
// the token's text (a fuzzer finds "ayload.signature)" in one).
std::string Altered(absl::string_view token) {
  std::string out(token);
  for (char& c : out) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      c ^= 0x20;  // flip case
      return out;
    }
    if (c >= '0' && c <= '9') {
      c = c == '9' ? '0' : c + 1;
      return out;
    }
  }
  return "";
}

void Check(const TokenVerifier::Result& r, absl::string_view token,
           const TokenVerifier* verifier, absl::Time now) {
  if (r.ok()) {
    if (r.token->provider != "corp" || r.token->claims.empty()) std::abort();
    return;
  }
  if (r.detail.empty() || r.detail.find('\n') != std::string::npos) {
    std::abort();
  }
  if (verifier != nullptr && token.size() >= 16 &&
      r.detail.find(std::string(token)) != std::string::npos) {
    // Found: an echo only if the detail follows the token when it changes.
    const std::string altered = Altered(token);
    if (altered.empty()) return;
    const TokenVerifier::Result r2 = verifier->Verify(altered, now);
    if (!r2.ok() && r2.detail.find(altered) != std::string::npos) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture* fixture = new Fixture;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const absl::Time now = t::TestNow();

  const std::string token =
      !input.empty() && input[0] == '{' ? Assemble(input) : std::string(input);
  Check(fixture->verifier->Verify(token, now), token, fixture->verifier.get(),
        now);

  Check(CheckClaims(fixture->settings, input, now), "", nullptr, now);
  (void)Jwks::Parse(input, "fuzz");
  return 0;
}

// TokenVerifier end to end: tokens made here with cjose (and forged by
// hand) against a JWKS of fresh RSA, EC and oct keys.
#include "frontend/auth/token_verifier.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "frontend/auth/jwks.h"
#include "frontend/auth/test_tokens.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend::auth {
namespace {

using testing::B64;
using testing::Claims;
using ::testing::HasSubstr;
using testing::JwksOf;
using testing::NewEcKey;
using testing::NewOctKey;
using testing::NewRsaKey;
using testing::OctKeyFromBytes;
using testing::RawToken;
using testing::RsaPublicPem;
using testing::Sign;
using testing::TestKey;
using testing::TestNow;
using testing::TestNowUnix;

constexpr char kIss[] = "https://id.example.com";

// Keys are made once: RSA generation takes a while.
struct Keys {
  TestKey rsa = NewRsaKey("rsa-1");
  TestKey ec = NewEcKey("ec-1");
  TestKey oct = NewOctKey("oct-1", 256);
  TestKey attacker_rsa = NewRsaKey("rsa-1");  // same kid, other key
  TestKey attacker_ec = NewEcKey("evil");
};
const Keys& K() {
  static const Keys* keys = new Keys;
  return *keys;
}

std::shared_ptr<const Jwks> ParseOrDie(const std::string& json) {
  auto jwks = Jwks::Parse(json);
  EXPECT_TRUE(jwks.ok()) << jwks.status();
  return jwks.ok() ? *jwks : nullptr;
}

std::shared_ptr<const Jwks> AllKeys() {
  static const auto* jwks = new std::shared_ptr<const Jwks>(ParseOrDie(
      JwksOf({K().rsa.PublicJwk(), K().ec.PublicJwk(), K().oct.PublicJwk()})));
  return *jwks;
}

ProviderSettings Settings(std::vector<std::string> algs = {"RS256", "ES256",
                                                           "HS256"}) {
  ProviderSettings s;
  s.name = "corp";
  s.issuer = kIss;
  s.audiences = {"api"};
  s.algorithms = std::move(algs);
  return s;
}

std::string GoodClaims() {
  return Claims(kIss, R"("api")", TestNowUnix() + 3600, TestNowUnix() - 10);
}

std::string Header(absl::string_view alg, absl::string_view kid,
                   absl::string_view extra = "") {
  std::string h = absl::StrCat("{\"alg\":\"", alg, "\"");
  if (!kid.empty()) absl::StrAppend(&h, ",\"kid\":\"", kid, "\"");
  if (!extra.empty()) absl::StrAppend(&h, ",", extra);
  absl::StrAppend(&h, ",\"typ\":\"JWT\"}");
  return h;
}

class TokenVerifierTest : public ::testing::Test {
 protected:
  TokenVerifier::Result Verify(const std::string& token,
                               std::shared_ptr<const Jwks> jwks = AllKeys(),
                               ProviderSettings s = Settings()) {
    TokenVerifier v(std::move(s), std::move(jwks));
    TokenVerifier::Result r = v.Verify(token, TestNow());
    // Whatever happened, the detail never carries the token or a part of it.
    EXPECT_EQ(r.detail.find(token), std::string::npos) << r.detail;
    for (absl::string_view part : absl::StrSplit(token, '.')) {
      if (part.size() >= 8) {
        EXPECT_EQ(r.detail.find(std::string(part)), std::string::npos)
            << r.detail;
      }
    }
    EXPECT_EQ(r.detail.find('\n'), std::string::npos) << r.detail;
    if (!r.ok()) {
      EXPECT_FALSE(r.detail.empty());
    }
    return r;
  }

  void ExpectRefused(const std::string& token, Refusal want,
                     std::shared_ptr<const Jwks> jwks = AllKeys(),
                     ProviderSettings s = Settings()) {
    TokenVerifier::Result r = Verify(token, std::move(jwks), std::move(s));
    EXPECT_FALSE(r.ok()) << "accepted";
    EXPECT_EQ(RefusalName(r.refusal), RefusalName(want)) << r.detail;
  }
};

TEST_F(TokenVerifierTest, ValidRs256Es256Hs256) {
  for (const TestKey* key : {&K().rsa, &K().ec, &K().oct}) {
    const char* alg = key == &K().rsa  ? "RS256"
                      : key == &K().ec ? "ES256"
                                       : "HS256";
    auto r = Verify(Sign(*key, Header(alg, key->kid), GoodClaims()));
    ASSERT_TRUE(r.ok()) << alg << ": " << r.detail;
    EXPECT_EQ(r.token->provider, "corp");
    EXPECT_EQ(r.token->subject, "alice");
    EXPECT_EQ(r.token->expires, absl::FromUnixSeconds(TestNowUnix() + 3600));
  }
}

TEST_F(TokenVerifierTest, EveryAlgorithmCjoseImplementsRoundTrips) {
  const TestKey p384 = NewEcKey("p384", CJOSE_JWK_EC_P_384);
  const TestKey p521 = NewEcKey("p521", CJOSE_JWK_EC_P_521);
  const TestKey oct512 = NewOctKey("oct512", 512);
  auto jwks = ParseOrDie(
      JwksOf({K().rsa.PublicJwk(), K().ec.PublicJwk(), p384.PublicJwk(),
              p521.PublicJwk(), oct512.PublicJwk()}));
  const std::vector<std::pair<std::string, const TestKey*>> cases = {
      {"RS256", &K().rsa}, {"RS384", &K().rsa}, {"RS512", &K().rsa},
      {"PS256", &K().rsa}, {"PS384", &K().rsa}, {"PS512", &K().rsa},
      {"ES256", &K().ec},  {"ES384", &p384},    {"ES512", &p521},
      {"HS256", &oct512},  {"HS384", &oct512},  {"HS512", &oct512}};
  std::vector<std::string> all;
  for (const auto& [alg, key] : cases) all.push_back(alg);
  for (const auto& [alg, key] : cases) {
    const std::string token = Sign(*key, Header(alg, key->kid), GoodClaims());
    auto r = Verify(token, jwks, Settings(all));
    EXPECT_TRUE(r.ok()) << alg << ": " << r.detail;
    // And each needs its own name in the allow-list.
    ExpectRefused(token, Refusal::kAlgorithm, jwks,
                  Settings({alg == "RS256" ? "ES256" : "RS256"}));
  }
}

TEST_F(TokenVerifierTest, ExpiryAndNotBeforeWithTheLeeway) {
  const int64_t now = TestNowUnix();
  auto token = [&](int64_t exp, int64_t nbf) {
    return Sign(K().ec, Header("ES256", "ec-1"),
                Claims(kIss, R"("api")", exp, nbf));
  };
  EXPECT_TRUE(Verify(token(now - 60, 0)).ok());  // at the edge
  ExpectRefused(token(now - 61, 0), Refusal::kExpired);
  ExpectRefused(token(now - 86400, 0), Refusal::kExpired);
  EXPECT_TRUE(Verify(token(now + 3600, now + 60)).ok());  // at the edge
  ExpectRefused(token(now + 3600, now + 61), Refusal::kNotYetValid);
  ProviderSettings strict = Settings();
  strict.leeway = absl::ZeroDuration();
  ExpectRefused(token(now - 1, 0), Refusal::kExpired, AllKeys(), strict);
  EXPECT_TRUE(Verify(token(now, 0), AllKeys(), strict).ok());
}

TEST_F(TokenVerifierTest, IssuerAndAudience) {
  const int64_t exp = TestNowUnix() + 60;
  auto token = [&](absl::string_view iss, absl::string_view aud) {
    return Sign(K().rsa, Header("RS256", "rsa-1"), Claims(iss, aud, exp));
  };
  ExpectRefused(token("https://other.example.com", R"("api")"),
                Refusal::kIssuer);
  ExpectRefused(token(kIss, R"("billing")"), Refusal::kAudience);
  ExpectRefused(token(kIss, R"(["billing","admin"])"), Refusal::kAudience);
  EXPECT_TRUE(Verify(token(kIss, R"(["billing","api"])")).ok());
}

TEST_F(TokenVerifierTest, MissingRequiredClaims) {
  const std::string exp = std::to_string(TestNowUnix() + 60);
  for (const std::string& claims : std::vector<std::string>{
           R"({"iss":"https://id.example.com","aud":"api"})",
           R"({"aud":"api","exp":)" + exp + "}",
           R"({"iss":"https://id.example.com","exp":)" + exp + "}"}) {
    ExpectRefused(Sign(K().ec, Header("ES256", "ec-1"), claims),
                  Refusal::kMissingClaim);
  }
}

TEST_F(TokenVerifierTest, NonNumericExpIsMalformed) {
  ExpectRefused(Sign(K().ec, Header("ES256", "ec-1"),
                     R"({"iss":"https://id.example.com","aud":"api",)"
                     R"("exp":"2099-01-01"})"),
                Refusal::kMalformed);
}

TEST_F(TokenVerifierTest, ClaimsMapThroughVerify) {
  auto r = Verify(Sign(K().rsa, Header("RS256", "rsa-1"),
                       Claims(kIss, R"("api")", TestNowUnix() + 60, 0,
                              R"("email":"a@example.com","level":3,)"
                              R"("groups":["x","y"])")));
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.token->claims.at("email"), "a@example.com");
  EXPECT_EQ(r.token->claims.at("level"), "3");
  EXPECT_EQ(r.token->claims.at("groups"), R"(["x","y"])");
  EXPECT_EQ(r.token->claims.at("aud"), "api");
}

// Changes one byte of the token's part `index` (decoded), keeping it valid
// base64url.
std::string FlipByte(const std::string& token, int index, size_t at) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  std::string bytes;
  absl::WebSafeBase64Unescape(parts[index], &bytes);
  bytes[at % bytes.size()] ^= 0x01;
  parts[index] = B64(bytes);
  return absl::StrJoin(parts, ".");
}

TEST_F(TokenVerifierTest, ABadSignatureIsRefused) {
  for (const auto& [key, alg] :
       std::vector<std::pair<const TestKey*, std::string>>{
           {&K().rsa, "RS256"}, {&K().ec, "ES256"}, {&K().oct, "HS256"}}) {
    const std::string token = Sign(*key, Header(alg, key->kid), GoodClaims());
    ASSERT_TRUE(Verify(token).ok());
    ExpectRefused(FlipByte(token, 2, 0), Refusal::kSignature);
    ExpectRefused(FlipByte(token, 2, 31), Refusal::kSignature);
    // A changed payload (still valid JSON: the digit of exp changes).
    ExpectRefused(FlipByte(token, 1, 40), Refusal::kSignature);
  }
  // Signed by another RSA key under the same kid.
  ExpectRefused(Sign(K().attacker_rsa, Header("RS256", "rsa-1"), GoodClaims()),
                Refusal::kSignature);
}

TEST_F(TokenVerifierTest, SignaturesOfTheWrongLengthAreRefusedBeforeCjose) {
  // cjose compares an HMAC over the digest's length before it checks the
  // signature's: a short one would be read past its end.
  const std::string h = Header("HS256", "oct-1");
  const std::string p = GoodClaims();
  for (size_t n : {0, 1, 16, 31, 33, 64}) {
    ExpectRefused(RawToken(h, p, std::string(n, 'x')), Refusal::kSignature);
  }
  for (size_t n : {0, 32, 63, 65, 66, 128}) {
    ExpectRefused(RawToken(Header("ES256", "ec-1"), p, std::string(n, '\1')),
                  Refusal::kSignature);
  }
  for (size_t n : {0, 255, 257}) {
    ExpectRefused(RawToken(Header("RS256", "rsa-1"), p, std::string(n, '\1')),
                  Refusal::kSignature);
  }
}

TEST_F(TokenVerifierTest, AlgNoneIsRefused) {
  for (const std::string alg : {"none", "None", "NONE", "nOnE"}) {
    for (const std::string kid : {"", "rsa-1", "oct-1"}) {
      ExpectRefused(RawToken(Header(alg, kid), GoodClaims(), ""),
                    Refusal::kAlgorithm);
      ExpectRefused(RawToken(Header(alg, kid), GoodClaims(), "sig"),
                    Refusal::kAlgorithm);
    }
  }
  // Even if a careless config lists it.
  ExpectRefused(RawToken(Header("none", ""), GoodClaims(), ""),
                Refusal::kAlgorithm, AllKeys(), Settings({"none", "RS256"}));
}

TEST_F(TokenVerifierTest, HmacWithTheRsaPublicKeyAsSecretIsRefused) {
  // The classic confusion: the attacker knows the RSA public key and signs
  // HS256 with its bytes, naming the RSA key's kid.
  const TestKey pem_secret = OctKeyFromBytes("x", RsaPublicPem(K().rsa));
  const TestKey jwk_secret = OctKeyFromBytes("x", K().rsa.PublicJwk());
  ASSERT_THAT(RsaPublicPem(K().rsa), HasSubstr("BEGIN PUBLIC KEY"));
  const ProviderSettings both = Settings({"RS256", "HS256"});
  for (const TestKey* secret : {&pem_secret, &jwk_secret}) {
    for (const char* alg : {"HS256", "HS384", "HS512"}) {
      ProviderSettings s = Settings({"RS256", alg});
      ExpectRefused(Sign(*secret, Header(alg, "rsa-1"), GoodClaims()),
                    Refusal::kAlgorithm, AllKeys(), s);
      // Without a kid, in a set with only the RSA key: nothing fits.
      ExpectRefused(Sign(*secret, Header(alg, ""), GoodClaims()),
                    Refusal::kAlgorithm,
                    ParseOrDie(JwksOf({K().rsa.PublicJwk()})), s);
    }
    // Without a kid and an oct key in the set: that key is tried, and fails.
    ExpectRefused(Sign(*secret, Header("HS256", ""), GoodClaims()),
                  Refusal::kSignature, AllKeys(), both);
  }
  // The same with the EC key.
  const TestKey ec_secret = OctKeyFromBytes("x", K().ec.PublicJwk());
  ExpectRefused(Sign(ec_secret, Header("HS256", "ec-1"), GoodClaims()),
                Refusal::kAlgorithm);
}

TEST_F(TokenVerifierTest, KeyTypeMustMatchTheAlgorithmFamily) {
  const std::vector<std::string> all = {"RS256", "PS256", "ES256", "ES384",
                                        "HS256"};
  // An RSA kid with ES256, an EC kid with RS256/PS256, an oct kid with RS256:
  // signatures of the right length, so only the key check can refuse them.
  ExpectRefused(
      RawToken(Header("ES256", "rsa-1"), GoodClaims(), std::string(64, '\1')),
      Refusal::kAlgorithm, AllKeys(), Settings(all));
  ExpectRefused(
      RawToken(Header("RS256", "ec-1"), GoodClaims(), std::string(256, '\1')),
      Refusal::kAlgorithm, AllKeys(), Settings(all));
  ExpectRefused(
      RawToken(Header("PS256", "oct-1"), GoodClaims(), std::string(256, '\1')),
      Refusal::kAlgorithm, AllKeys(), Settings(all));
  // ES384 naming a P-256 key: the curve belongs to the algorithm.
  const TestKey p256_signs_384 = K().ec;
  ExpectRefused(Sign(p256_signs_384, Header("ES384", "ec-1"), GoodClaims()),
                Refusal::kAlgorithm, AllKeys(), Settings(all));
  // A JWK that names its "alg" is used with that one only.
  auto pinned = ParseOrDie(JwksOf({K().rsa.PublicJwk(R"("alg":"RS256")")}));
  EXPECT_TRUE(Verify(Sign(K().rsa, Header("RS256", "rsa-1"), GoodClaims()),
                     pinned, Settings({"RS256", "PS256"}))
                  .ok());
  ExpectRefused(Sign(K().rsa, Header("PS256", "rsa-1"), GoodClaims()),
                Refusal::kAlgorithm, pinned, Settings({"RS256", "PS256"}));
}

TEST_F(TokenVerifierTest, AlgorithmNotInTheAllowList) {
  ExpectRefused(Sign(K().ec, Header("ES256", "ec-1"), GoodClaims()),
                Refusal::kAlgorithm, AllKeys(), Settings({"RS256"}));
  ExpectRefused(Sign(K().oct, Header("HS256", "oct-1"), GoodClaims()),
                Refusal::kAlgorithm, AllKeys(), Settings({"RS256", "ES256"}));
  ExpectRefused(Sign(K().rsa, Header("RS512", "rsa-1"), GoodClaims()),
                Refusal::kAlgorithm);
  ExpectRefused(RawToken(Header("EdDSA", "ec-1"), GoodClaims(), "s"),
                Refusal::kAlgorithm);
}

TEST_F(TokenVerifierTest, UnknownKid) {
  ExpectRefused(Sign(K().rsa, Header("RS256", "rsa-2"), GoodClaims()),
                Refusal::kUnknownKey);
  ExpectRefused(Sign(K().attacker_ec, Header("ES256", "evil"), GoodClaims()),
                Refusal::kUnknownKey);
}

TEST_F(TokenVerifierTest, NoKidUsesTheOneKeyThatFitsButNotOneOfSeveral) {
  const std::string rs = Sign(K().rsa, Header("RS256", ""), GoodClaims());
  EXPECT_TRUE(Verify(rs).ok());  // one RSA key among others
  const TestKey rsa2 = NewRsaKey("rsa-2");
  auto two = ParseOrDie(JwksOf({K().rsa.PublicJwk(), rsa2.PublicJwk()}));
  ExpectRefused(rs, Refusal::kUnknownKey, two);
  // A key without a kid in the set: found for a token without one.
  const std::string kid_member = R"("kid":"ec-1",)";
  std::string no_kid = K().ec.PublicJwk();
  ASSERT_NE(no_kid.find(kid_member), std::string::npos) << no_kid;
  no_kid.replace(no_kid.find(kid_member), kid_member.size(), "");
  auto anonymous = ParseOrDie(JwksOf({no_kid}));
  EXPECT_TRUE(
      Verify(Sign(K().ec, Header("ES256", ""), GoodClaims()), anonymous).ok());
  // ... but never for a token that names a kid.
  ExpectRefused(Sign(K().ec, Header("ES256", "ec-1"), GoodClaims()),
                Refusal::kUnknownKey, anonymous);
}

TEST_F(TokenVerifierTest, TwoKeysWithTheSameKidThatBothFitAreAmbiguous) {
  const TestKey again = NewRsaKey("rsa-1");
  auto dup = ParseOrDie(JwksOf({K().rsa.PublicJwk(), again.PublicJwk()}));
  ExpectRefused(Sign(K().rsa, Header("RS256", "rsa-1"), GoodClaims()),
                Refusal::kUnknownKey, dup);
  // The same kid on keys of different types is fine: the alg decides.
  const TestKey ec_same_kid = NewEcKey("rsa-1");
  auto mixed =
      ParseOrDie(JwksOf({K().rsa.PublicJwk(), ec_same_kid.PublicJwk()}));
  EXPECT_TRUE(
      Verify(Sign(K().rsa, Header("RS256", "rsa-1"), GoodClaims()), mixed)
          .ok());
  EXPECT_TRUE(
      Verify(Sign(ec_same_kid, Header("ES256", "rsa-1"), GoodClaims()), mixed)
          .ok());
}

// A TCP listener that counts connection attempts, to prove nothing fetched
// the URLs in a token's header.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 8);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { close(fd_); }
  int port() const { return port_; }
  bool Connected() {
    const int c = accept(fd_, nullptr, nullptr);
    if (c >= 0) close(c);
    return c >= 0;
  }

 private:
  int fd_;
  int port_;
};

TEST_F(TokenVerifierTest, HeaderKeysAndKeyUrlsAreNeverUsed) {
  Listener listener;
  const std::string url =
      absl::StrCat("http://127.0.0.1:", listener.port(), "/jwks.json");
  const std::string urls =
      absl::StrCat(R"("jku":")", url, R"(","x5u":")", url, R"(")");
  // The attacker's own key embedded in the header, with and without its kid.
  const std::string embedded =
      absl::StrCat(R"("jwk":)", K().attacker_ec.PublicJwk(), ",", urls);
  ExpectRefused(
      Sign(K().attacker_ec, Header("ES256", "", embedded), GoodClaims()),
      Refusal::kSignature);  // checked with our EC key
  ExpectRefused(
      Sign(K().attacker_ec, Header("ES256", "evil", embedded), GoodClaims()),
      Refusal::kUnknownKey);
  ExpectRefused(
      Sign(K().attacker_ec, Header("ES256", "ec-1", embedded), GoodClaims()),
      Refusal::kSignature);
  // With only an RSA key in the set, the embedded EC key does not help.
  ExpectRefused(
      Sign(K().attacker_ec, Header("ES256", "", embedded), GoodClaims()),
      Refusal::kAlgorithm, ParseOrDie(JwksOf({K().rsa.PublicJwk()})));
  // x5c too.
  ExpectRefused(Sign(K().attacker_ec, Header("ES256", "", R"("x5c":["MIIB"])"),
                     GoodClaims()),
                Refusal::kSignature);
  // A genuine token that carries these members is fine: they are ignored.
  EXPECT_TRUE(
      Verify(Sign(K().ec, Header("ES256", "ec-1", embedded), GoodClaims()))
          .ok());
  EXPECT_FALSE(listener.Connected()) << "something fetched " << url;
}

TEST_F(TokenVerifierTest, CritIsRefused) {
  ExpectRefused(
      Sign(K().ec, Header("ES256", "ec-1", R"("crit":["exp"])"), GoodClaims()),
      Refusal::kMalformed);
  ExpectRefused(
      Sign(K().ec, Header("ES256", "ec-1", R"("b64":false,"crit":["b64"])"),
           GoodClaims()),
      Refusal::kMalformed);
  ExpectRefused(
      Sign(K().ec, Header("ES256", "ec-1", R"("crit":[])"), GoodClaims()),
      Refusal::kMalformed);
}

TEST_F(TokenVerifierTest, EveryPrefixOfAValidTokenIsRefused) {
  for (const auto& [key, alg] :
       std::vector<std::pair<const TestKey*, std::string>>{
           {&K().rsa, "RS256"}, {&K().ec, "ES256"}, {&K().oct, "HS256"}}) {
    const std::string token = Sign(*key, Header(alg, key->kid), GoodClaims());
    ASSERT_TRUE(Verify(token).ok());
    for (size_t n = 0; n < token.size(); ++n) {
      const std::string prefix = token.substr(0, n);
      TokenVerifier v(Settings(), AllKeys());
      EXPECT_FALSE(v.Verify(prefix, TestNow()).ok()) << alg << " prefix " << n;
    }
  }
}

TEST_F(TokenVerifierTest, MalformedTokens) {
  const std::string good = Sign(K().ec, Header("ES256", "ec-1"), GoodClaims());
  std::vector<std::string> parts = absl::StrSplit(good, '.');
  const std::string h = parts[0], p = parts[1], s = parts[2];
  for (const std::string& bad : std::vector<std::string>{
           "",
           ".",
           "..",
           "...",
           h,
           h + "." + p,
           h + "." + p + "." + s + ".",
           h + "." + p + "." + s + "." + s + "." + s,  // JWE-shaped
           "." + p + "." + s,
           h + "==." + p + "." + s,
           h + "." + p + "==." + s,
           h + "." + p + "." + s + "=",
           "AAAAA=." + p + "." + s,  // makes cjose's decoder abort
           "A=." + p + "." + s,
           h + "." + "AAAAA=" + "." + s,
           h + "." + p + "." + "AAAAA=",
           " " + good,
           good + " ",
           good + "\n",
           "Bearer " + good,
           h + "." + p + "." + s.substr(0, s.size() - 1) + "+",
           std::string(good).replace(3, 1, "/"),
           h + ".\xff\xfe." + s,
           std::string(good.size(), '\0'),
       }) {
    TokenVerifier v(Settings(), AllKeys());
    auto r = v.Verify(bad, TestNow());
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.refusal, Refusal::kMalformed) << bad << ": " << r.detail;
  }
}

TEST_F(TokenVerifierTest, NonJsonHeaderOrPayload) {
  const std::string claims = GoodClaims();
  for (const std::string header :
       {"not json", "[\"ES256\"]", "\"ES256\"",
        R"({"alg":"ES256","alg":"none"})", R"({"alg":"ES256","kid":"ec-1")",
        R"({"alg":["ES256"]})", R"({"kid":"ec-1"})",
        R"({"alg":"ES256","kid":7})", R"({"alg":"ES256","kid":null})", ""}) {
    ExpectRefused(RawToken(header, claims, std::string(64, '\1')),
                  Refusal::kMalformed);
  }
  // Validly signed payloads that are no claims set.
  for (
      const std::string payload :
      {"not json", "[1,2]", "", "{\"iss\":1,", "\"text\"",
       R"({"iss":"https://id.example.com","iss":"x","aud":"api","exp":2e9})"}) {
    ExpectRefused(Sign(K().ec, Header("ES256", "ec-1"), payload),
                  Refusal::kMalformed);
  }
}

TEST_F(TokenVerifierTest, TooLargeBeforeAnythingElse) {
  const std::string good =
      Sign(K().rsa, Header("RS256", "rsa-1"), GoodClaims());
  ProviderSettings s = Settings();
  s.max_token_bytes = good.size();
  EXPECT_TRUE(Verify(good, AllKeys(), s).ok());
  s.max_token_bytes = good.size() - 1;
  ExpectRefused(good, Refusal::kTooLarge, AllKeys(), s);
  ExpectRefused(std::string(8193, 'A'), Refusal::kTooLarge);
  // A big but valid token under the default 8 KiB limit.
  const std::string big =
      Sign(K().rsa, Header("RS256", "rsa-1"),
           Claims(kIss, R"("api")", TestNowUnix() + 60, 0,
                  absl::StrCat(R"("pad":")", std::string(7000, 'x'), "\"")));
  ASSERT_GT(big.size(), 8192u);
  ExpectRefused(big, Refusal::kTooLarge);
}

TEST_F(TokenVerifierTest, VerifiesFromManyThreadsAtOnce) {
  const std::vector<std::string> tokens = {
      Sign(K().rsa, Header("RS256", "rsa-1"), GoodClaims()),
      Sign(K().ec, Header("ES256", "ec-1"), GoodClaims()),
      Sign(K().oct, Header("HS256", "oct-1"), GoodClaims()),
      FlipByte(Sign(K().ec, Header("ES256", "ec-1"), GoodClaims()), 2, 5)};
  const TokenVerifier v(Settings(), AllKeys());
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        (v.Verify(tokens[i % tokens.size()], TestNow()).ok() ? ok : refused)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 300);
  EXPECT_EQ(refused.load(), 100);
}

TEST_F(TokenVerifierTest, SettingsAreKept) {
  TokenVerifier v(Settings(), AllKeys());
  EXPECT_EQ(v.settings().name, "corp");
  EXPECT_EQ(v.settings().leeway, absl::Seconds(60));
  EXPECT_EQ(v.settings().max_token_bytes, 8192u);
}

}  // namespace
}  // namespace ssebridge::frontend::auth

#include "frontend/http/request_auth.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "frontend/auth/token_signer.h"
#include "frontend/auth/token_verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(FindTokenTest, BearerHeaderComesFirstThenCookieThenQuery) {
  AuthInputs in;
  in.authorization = "Bearer hdr.tok.en";
  in.cookie_header = "theme=dark; tok=cookie.tok.en";
  in.query_token = "query.tok.en";
  FoundToken f = FindToken(in, "tok");
  EXPECT_EQ(f.source, TokenSource::kHeader);
  EXPECT_EQ(f.token, "hdr.tok.en");

  in.authorization.reset();
  f = FindToken(in, "tok");
  EXPECT_EQ(f.source, TokenSource::kCookie);
  EXPECT_EQ(f.token, "cookie.tok.en");

  in.cookie_header = "theme=dark";
  f = FindToken(in, "tok");
  EXPECT_EQ(f.source, TokenSource::kQuery);
  EXPECT_EQ(f.token, "query.tok.en");

  in.query_token.reset();
  EXPECT_EQ(FindToken(in, "tok").source, TokenSource::kNone);
}

TEST(FindTokenTest, SchemeIsCaseInsensitiveAndOtherSchemesAreBad) {
  AuthInputs in;
  in.authorization = "bEaReR  abc";
  EXPECT_EQ(FindToken(in, "tok").token, "abc");
  for (const char* bad :
       {"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "abc", ""}) {
    SCOPED_TRACE(bad);
    in.authorization = bad;
    in.cookie_header = "tok=fallback";  // never used instead of a bad header
    FoundToken f = FindToken(in, "tok");
    EXPECT_TRUE(f.bad_header);
    EXPECT_EQ(f.source, TokenSource::kNone);
  }
}

TEST(CookieValueTest, FindsTheNamedCookieOnly) {
  EXPECT_EQ(CookieValue("a=1; tok=x.y.z; b=2", "tok"), "x.y.z");
  EXPECT_EQ(CookieValue("tok_old=1; xtok=2", "tok"), "");
  EXPECT_EQ(CookieValue("tok=\"q\"", "tok"), "q");
  EXPECT_EQ(CookieValue("", "tok"), "");
}

TEST(ForwardableHeaderTest, TokenCookiesAndBearerNeverGoOn) {
  const absl::flat_hash_set<std::string> tok = {"tok", "other_tok"};
  EXPECT_EQ(ForwardableHeader("cookie", "a=1; tok=xyz;b=2", tok), "a=1; b=2");
  EXPECT_EQ(ForwardableHeader("cookie", " tok = xyz ; other_tok=1", tok),
            std::nullopt);
  EXPECT_EQ(ForwardableHeader("cookie", "tokx=1; atok=2", tok),
            "tokx=1; atok=2");
  EXPECT_EQ(ForwardableHeader("cookie", "tok=1", {}), "tok=1");
  EXPECT_EQ(ForwardableHeader("authorization", "Bearer abc", tok),
            std::nullopt);
  EXPECT_EQ(ForwardableHeader("authorization", "  bEaReR abc", tok),
            std::nullopt);
  EXPECT_EQ(ForwardableHeader("authorization", "Basic Zm9v", tok),
            "Basic Zm9v");
  EXPECT_EQ(ForwardableHeader("x-request-id", "tok=1", tok), "tok=1");
}

TEST(OriginAllowedTest, OwnHostOrListedOriginsOnly) {
  const absl::flat_hash_set<std::string> allowed = {"https://app.example.com"};
  const std::optional<std::string> none;
  const std::optional<std::string> host = "127.0.0.1:8080";
  EXPECT_TRUE(OriginAllowed("http://127.0.0.1:8080", none, host, allowed));
  EXPECT_TRUE(OriginAllowed("HTTPS://App.Example.com", none, host, allowed));
  EXPECT_FALSE(OriginAllowed("http://evil.example", none, host, allowed));
  EXPECT_FALSE(OriginAllowed("http://127.0.0.1:8081", none, host, allowed));
  EXPECT_FALSE(OriginAllowed("null", none, host, allowed));
  // Referer when there is no Origin; neither is refused.
  EXPECT_TRUE(OriginAllowed(none, "http://127.0.0.1:8080/chat.html?x=1", host,
                            allowed));
  EXPECT_FALSE(
      OriginAllowed(none, "http://evil.example/127.0.0.1:8080", host, allowed));
  EXPECT_FALSE(OriginAllowed(none, none, host, allowed));
  EXPECT_FALSE(OriginAllowed(none, "not a url", host, allowed));
}

TEST(IdentityHeadersTest, ReservedNames) {
  const absl::flat_hash_set<std::string> extra = {"x-team"};
  EXPECT_TRUE(IsReservedIdentityHeader("x-user", extra));
  EXPECT_TRUE(IsReservedIdentityHeader("x-ssebridge-sub", extra));
  EXPECT_TRUE(IsReservedIdentityHeader("x-ssebridge-claim-name", extra));
  EXPECT_TRUE(IsReservedIdentityHeader("x-team", extra));
  EXPECT_FALSE(IsReservedIdentityHeader("x-request-id", extra));
  EXPECT_FALSE(IsReservedIdentityHeader("cookie", extra));
}

TEST(IdentityHeadersTest, MetadataValuesArePrintableAscii) {
  EXPECT_EQ(EncodeMetadataValue("alice"), "alice");
  EXPECT_EQ(EncodeMetadataValue("Jos\xC3\xA9 100%"), "Jos%C3%A9 100%25");
  EXPECT_EQ(EncodeMetadataValue("a\r\nb"), "a%0D%0Ab");
}

// A real verifier over a key pair made for the test, and tokens signed with
// it (the dev-login signer) or crafted.
class AuthorizeTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(testing::TempDir(), "/request_auth_", getpid());
    ASSERT_EQ(system(("mkdir -p " + dir_).c_str()), 0);
    const std::string priv = dir_ + "/key.jwk", pub = dir_ + "/jwks.json";
    std::remove(priv.c_str());
    std::remove(pub.c_str());
    ASSERT_TRUE(auth::GenerateEs256KeyFiles(priv, pub).ok());
    std::ifstream in(priv);
    std::stringstream text;
    text << in.rdbuf();
    auto signer = auth::TokenSigner::FromJwkJson(text.str());
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_.emplace(*std::move(signer));
    auto keys = auth::JwksFile::Load(pub);
    ASSERT_TRUE(keys.ok()) << keys.status();
    auth::ProviderSettings s;
    s.name = "main";
    s.issuer = "https://login.test";
    s.audiences = {"sse-bridge"};
    s.algorithms = {"ES256"};
    verifier_ = std::make_unique<auth::TokenVerifier>(
        s, std::shared_ptr<auth::JwksFile>(std::move(*keys)));
  }

  std::string Token(const std::string& sub, absl::Duration ttl,
                    const std::string& extra = "") {
    const int64_t exp = absl::ToUnixSeconds(absl::Now() + ttl);
    auto t = signer_->Sign(absl::StrCat(
        "{\"iss\":\"https://login.test\",\"aud\":\"sse-bridge\",\"sub\":\"",
        sub, "\",\"exp\":", exp, extra, "}"));
    EXPECT_TRUE(t.ok());
    return t.value_or("");
  }

  AuthOutcome Run(AuthMode mode, AuthInputs in) {
    return Authorize(mode, *verifier_, "tok", require_, in, absl::Now());
  }

  std::string dir_;
  std::optional<auth::TokenSigner> signer_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  google::protobuf::Map<std::string, std::string> require_;
};

TEST_F(AuthorizeTest, RequiredRoute) {
  AuthInputs in;
  AuthOutcome a = Run(AuthMode::kRequired, in);
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.reason, "missing");
  EXPECT_EQ(WwwAuthenticate(a), "Bearer realm=\"sse-bridge\"");

  in.cookie_header = "tok=" + Token("alice", absl::Minutes(5));
  a = Run(AuthMode::kRequired, in);
  ASSERT_EQ(a.status, 0) << a.reason << ": " << a.detail;
  ASSERT_TRUE(a.token.has_value());
  EXPECT_EQ(a.token->subject, "alice");
  EXPECT_EQ(a.source, TokenSource::kCookie);

  in.cookie_header = "tok=" + Token("alice", absl::Minutes(-5));
  a = Run(AuthMode::kRequired, in);
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.reason, "expired");
  EXPECT_EQ(WwwAuthenticate(a),
            "Bearer realm=\"sse-bridge\", error=\"invalid_token\"");
  // The detail is for logs and never holds the token.
  EXPECT_EQ(a.detail.find(in.cookie_header.substr(4)), std::string::npos);
}

TEST_F(AuthorizeTest, OptionalRouteIsAnonymousWithoutTokenButNeverWithABadOne) {
  AuthInputs in;
  AuthOutcome a = Run(AuthMode::kOptional, in);
  EXPECT_EQ(a.status, 0);
  EXPECT_FALSE(a.token.has_value());

  in.authorization = "Bearer not.a.token";
  a = Run(AuthMode::kOptional, in);
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.reason, "malformed");

  in.authorization = "Basic abc";
  EXPECT_EQ(Run(AuthMode::kOptional, in).status, 401);
}

TEST_F(AuthorizeTest, RequireClaimsGive403) {
  require_["role"] = "admin";
  AuthInputs in;
  in.authorization =
      "Bearer " + Token("bob", absl::Minutes(5), ",\"role\":\"viewer\"");
  AuthOutcome a = Run(AuthMode::kRequired, in);
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(a.reason, "forbidden");
  EXPECT_EQ(WwwAuthenticate(a),
            "Bearer realm=\"sse-bridge\", error=\"insufficient_scope\"");

  in.authorization =
      "Bearer " + Token("bob", absl::Minutes(5), ",\"role\":\"admin\"");
  EXPECT_EQ(Run(AuthMode::kRequired, in).status, 0);
}

TEST_F(AuthorizeTest, IdentityMetadataCarriesSubjectAndMappedClaims) {
  AuthInputs in;
  in.authorization =
      "Bearer " + Token("alice", absl::Minutes(5),
                        ",\"name\":\"Alice \\u00c5\",\"team\":\"blue\"");
  AuthOutcome a = Run(AuthMode::kRequired, in);
  ASSERT_TRUE(a.token.has_value()) << a.reason;
  google::protobuf::Map<std::string, std::string> map;
  map["name"] = "x-ssebridge-claim-name";
  map["absent"] = "x-ssebridge-claim-absent";
  EXPECT_THAT(IdentityMetadata(*a.token, map),
              ElementsAre(Pair("x-ssebridge-sub", "alice"),
                          Pair("x-ssebridge-claim-name", "Alice %C3%85")));
}

}  // namespace
}  // namespace ssebridge::frontend

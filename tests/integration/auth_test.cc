// Who is asking, through a real frontend (issue 17): tokens from the
// Authorization header, the cookie and an opted-in query parameter; 401 and
// 403 with WWW-Authenticate; spoofed identity headers never reaching the
// service; the verified subject as metadata; a stream ended with
// auth-expired at its token's exp (call cancelled); CSRF on cookie POSTs;
// the development login; refusals counted in /metrics. Real sockets on
// 127.0.0.1, a real gRPC test service, keys made for the test.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "frontend/auth/token_signer.h"
#include "frontend/auth/token_verifier.h"
#include "frontend/http/frontend_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/frontend_fixture.h"
#include "tests/util/child_process.h"
#include "tests/util/sse_client.h"
#include "tests/util/test_service.h"
#include "tests/util/test_util.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::config::v1::FrontendConfig;
using ::ssebridge::testing::SseClient;
using ::ssebridge::testing::TestServer;
using ::ssebridge::testing::WaitFor;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

using integration::Exchange;

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/auth_test_", getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    key_ = dir_ + "/key.jwk";
    jwks_ = dir_ + "/jwks.json";
    ASSERT_TRUE(auth::GenerateEs256KeyFiles(key_, jwks_).ok());
    auto signer = auth::TokenSigner::FromJwkJson(ReadFile(key_));
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_.emplace(*std::move(signer));
  }
  void TearDown() override {
    frontend_.reset();
    std::filesystem::remove_all(dir_);
  }

  FrontendConfig Config() {
    FrontendConfig cfg = integration::LoopbackConfig(backend_.target());
    auto* p = cfg.mutable_auth()->add_providers();
    p->set_name("main");
    p->set_issuer("https://login.test");
    p->add_audiences("sse-bridge");
    p->set_jwks_file(jwks_);
    p->add_algorithms("ES256");
    p->mutable_leeway()->set_seconds(0);
    p->set_cookie("tok");
    p->set_max_token_bytes(8192);
    (*p->mutable_claims_to_metadata())["name"] = "x-ssebridge-claim-name";
    cfg.mutable_auth()->set_expired_event("auth-expired");
    auto route = [&](const std::string& path, const std::string& action,
                     const std::string& mode) {
      auto* r = cfg.add_routes();
      r->set_path(path);
      r->add_methods("GET");
      r->add_methods("POST");
      r->set_backend("test");
      r->set_action(action);
      r->set_terminal_event("done");
      r->set_auth(mode);
      r->set_auth_provider("main");
      // Forwarding these must not let a client claim an identity.
      r->add_forward_headers("x-user");
      r->add_forward_headers("x-ssebridge-sub");
      r->add_forward_headers("x-ssebridge-claim-name");
      r->add_forward_headers("x-request-id");
      return r;
    };
    route("/req/idle", "idle", "required");
    route("/req/tokens", "tokens", "required");
    route("/opt/tokens", "tokens", "optional");
    auto* admin = route("/admin/tokens", "tokens", "required");
    (*admin->mutable_require_claims())["role"] = "admin";
    route("/query/tokens", "tokens", "required")
        ->set_token_query_param("access_token");
    route("/open/tokens", "tokens", "off");
    auto* dev = cfg.mutable_auth()->mutable_dev_login();
    dev->set_path("/auth/dev-login");
    dev->set_provider("main");
    dev->set_signing_key_file(key_);
    dev->mutable_ttl()->set_seconds(600);
    return cfg;
  }

  void Start(const FrontendConfig& cfg) {
    frontend_ = integration::StartFrontend(cfg);
    ASSERT_NE(frontend_, nullptr);
    port_ = frontend_->port();
  }

  std::string Token(const std::string& sub, int64_t exp,
                    const std::string& extra = "") {
    auto t = signer_->Sign(absl::StrCat(
        "{\"iss\":\"https://login.test\",\"aud\":\"sse-bridge\",\"sub\":\"",
        sub, "\",\"exp\":", exp, extra, "}"));
    EXPECT_TRUE(t.ok()) << t.status();
    return t.value_or("");
  }
  std::string Token(const std::string& sub, const std::string& extra = "") {
    return Token(sub, absl::ToUnixSeconds(absl::Now() + absl::Minutes(10)),
                 extra);
  }

  // GETs `target` as a stream; returns the client after the head.
  std::unique_ptr<SseClient> Open(const std::string& target,
                                  const std::vector<std::string>& headers) {
    auto c = std::make_unique<SseClient>();
    EXPECT_TRUE(c->Connect(port_));
    EXPECT_TRUE(c->Get(target, headers));
    EXPECT_TRUE(c->ReadHead());
    return c;
  }

  // A finished "tokens" stream of n=1 with `tag`; its status.
  int Tokens(const std::string& route, const std::string& tag,
             const std::vector<std::string>& headers) {
    auto c = Open(absl::StrCat(route, "?n=1&tag=", tag), headers);
    if (c->status() == 200) {
      c->ReadUntil([&] {
        return !c->events().empty() && c->events().back().type == "done";
      });
    }
    return c->status();
  }

  std::string Metric(const std::string& line_prefix) {
    auto c = Exchange(port_, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    for (absl::string_view line : absl::StrSplit(c->raw_body(), '\n')) {
      if (absl::StartsWith(line, line_prefix)) {
        return std::string(line.substr(line_prefix.size()));
      }
    }
    return "";
  }

  TestServer backend_;
  std::string dir_, key_, jwks_;
  std::optional<auth::TokenSigner> signer_;
  std::unique_ptr<FrontendServer> frontend_;
  int port_ = 0;
};

TEST_F(AuthTest, RequiredRouteRefusesWithoutValidTokenAndCountsWhy) {
  Start(Config());
  auto none = Open("/req/tokens?n=1&tag=none", {});
  EXPECT_EQ(none->status(), 401);
  EXPECT_EQ(none->header("www-authenticate"), "Bearer realm=\"sse-bridge\"");

  const int64_t past = absl::ToUnixSeconds(absl::Now() - absl::Minutes(1));
  auto expired = Open("/req/tokens?n=1&tag=exp",
                      {"Authorization: Bearer " + Token("alice", past)});
  EXPECT_EQ(expired->status(), 401);
  EXPECT_EQ(expired->header("www-authenticate"),
            "Bearer realm=\"sse-bridge\", error=\"invalid_token\"");
  expired->ReadUntil([&] {
    return expired->raw_body().size() >= sizeof("unauthorized: expired\n") - 1;
  });
  EXPECT_EQ(expired->raw_body(), "unauthorized: expired\n");

  auto garbage = Open("/req/tokens?n=1&tag=g", {"Authorization: Bearer x.y.z"});
  EXPECT_EQ(garbage->status(), 401);
  // Nothing reached the service.
  EXPECT_EQ(backend_.service().started(), 0);

  EXPECT_EQ(
      Tokens("/req/tokens", "ok", {"Authorization: Bearer " + Token("alice")}),
      200);
  EXPECT_EQ(backend_.service().started(), 1);
  EXPECT_EQ(Metric("ssebridge_auth_refusals_total{route=\"/req/tokens\","
                   "reason=\"missing\"} "),
            "1");
  EXPECT_EQ(Metric("ssebridge_auth_refusals_total{route=\"/req/tokens\","
                   "reason=\"expired\"} "),
            "1");
}

TEST_F(AuthTest, ServiceGetsTheVerifiedIdentityAndNeverASpoofedOne) {
  Start(Config());
  const std::vector<std::string> spoof = {
      "X-User: mallory", "X-Ssebridge-Sub: mallory",
      "X-Ssebridge-Claim-Name: Mallory", "X-Request-Id: r-1"};
  std::vector<std::string> headers = spoof;
  headers.push_back("Authorization: Bearer " +
                    Token("alice", ",\"name\":\"Alice\""));
  ASSERT_EQ(Tokens("/req/tokens", "who", headers), 200);
  auto md = backend_.service().last_metadata("who");
  EXPECT_EQ(md.count("x-ssebridge-sub"), 1u);
  EXPECT_EQ(md.find("x-ssebridge-sub")->second, "alice");
  EXPECT_EQ(md.count("x-ssebridge-claim-name"), 1u);
  EXPECT_EQ(md.find("x-ssebridge-claim-name")->second, "Alice");
  EXPECT_EQ(md.count("x-user"), 0u);
  EXPECT_EQ(md.find("x-request-id")->second, "r-1");
  auto req = backend_.service().last_request("who");
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->headers().count("x-user"), 0u);
  EXPECT_EQ(req->headers().count("x-ssebridge-sub"), 0u);
  EXPECT_EQ(req->headers().count("x-ssebridge-claim-name"), 0u);
  EXPECT_EQ(req->headers().at("x-request-id"), "r-1");

  // Also where auth is off: the spoofed headers are dropped, no identity.
  ASSERT_EQ(Tokens("/open/tokens", "anon", spoof), 200);
  md = backend_.service().last_metadata("anon");
  EXPECT_EQ(md.count("x-ssebridge-sub"), 0u);
  EXPECT_EQ(md.count("x-user"), 0u);
  EXPECT_EQ(md.count("x-ssebridge-claim-name"), 0u);
}

TEST_F(AuthTest, OptionalRouteIsAnonymousWithoutATokenButRefusesABadOne) {
  Start(Config());
  ASSERT_EQ(Tokens("/opt/tokens", "anon", {}), 200);
  EXPECT_EQ(backend_.service().last_metadata("anon").count("x-ssebridge-sub"),
            0u);
  EXPECT_EQ(Tokens("/opt/tokens", "bad", {"Cookie: tok=not-a-token"}), 401);
  EXPECT_EQ(
      Tokens("/opt/tokens", "basic", {"Authorization: Basic Zm9vOmJhcg=="}),
      401);
  ASSERT_EQ(Tokens("/opt/tokens", "good", {"Cookie: a=1; tok=" + Token("bo")}),
            200);
  EXPECT_EQ(
      backend_.service().last_metadata("good").find("x-ssebridge-sub")->second,
      "bo");
}

TEST_F(AuthTest, RequireClaimsAnswer403) {
  Start(Config());
  auto c = Open("/admin/tokens?n=1", {"Authorization: Bearer " +
                                      Token("bob", ",\"role\":\"viewer\"")});
  EXPECT_EQ(c->status(), 403);
  EXPECT_THAT(c->header("www-authenticate"), HasSubstr("insufficient_scope"));
  EXPECT_EQ(
      Tokens("/admin/tokens", "adm",
             {"Authorization: Bearer " + Token("root", ",\"role\":\"admin\"")}),
      200);
}

TEST_F(AuthTest, QueryTokenOnlyWhereTheRouteOptsInAndNotForwarded) {
  Start(Config());
  const std::string t = Token("qa");
  ASSERT_EQ(Tokens("/query/tokens", "q&access_token=" + t, {}), 200);
  auto req = backend_.service().last_request("q");
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->params().count("access_token"), 0u);
  EXPECT_EQ(
      backend_.service().last_metadata("q").find("x-ssebridge-sub")->second,
      "qa");
  // Another route does not take tokens from the query.
  EXPECT_EQ(Tokens("/req/tokens", "q2&access_token=" + t, {}), 401);
}

// The token is the frontend's credential, not the service's: a route that
// forwards `cookie` and `authorization` passes the other cookies on, but
// never the token cookie nor a Bearer header (on any route: a route with
// auth off must not leak what a signed-in browser sends along).
TEST_F(AuthTest, TheTokenIsNeverForwardedInCookieOrAuthorization) {
  FrontendConfig cfg = Config();
  for (auto& r : *cfg.mutable_routes()) {
    r.add_forward_headers("cookie");
    r.add_forward_headers("authorization");
  }
  Start(cfg);
  const std::string t = Token("carol");
  ASSERT_EQ(Tokens("/req/tokens", "ck",
                   {"Cookie: theme=dark; tok=" + t + "; lang=en"}),
            200);
  ASSERT_EQ(Tokens("/req/tokens", "hdr",
                   {"Authorization: Bearer " + t, "Cookie: tok=" + t}),
            200);
  ASSERT_EQ(Tokens("/open/tokens", "open",
                   {"Authorization: Bearer " + t, "Cookie: tok=" + t + "; a=1"}),
            200);
  ASSERT_EQ(Tokens("/open/tokens", "basic", {"Authorization: Basic Zm9v"}),
            200);
  for (const char* tag : {"ck", "hdr", "open"}) {
    SCOPED_TRACE(tag);
    auto md = backend_.service().last_metadata(tag);
    auto req = backend_.service().last_request(tag);
    ASSERT_TRUE(req.has_value());
    for (const auto& [k, v] : md) {
      EXPECT_THAT(v, ::testing::Not(HasSubstr(t))) << "metadata " << k;
    }
    for (const auto& [k, v] : req->headers()) {
      EXPECT_THAT(v, ::testing::Not(HasSubstr(t))) << "header " << k;
    }
    EXPECT_EQ(md.count("authorization"), 0u);
  }
  EXPECT_EQ(backend_.service().last_request("ck")->headers().at("cookie"),
            "theme=dark; lang=en");
  EXPECT_EQ(backend_.service().last_request("hdr")->headers().count("cookie"),
            0u);
  EXPECT_EQ(backend_.service().last_request("open")->headers().at("cookie"),
            "a=1");
  // Other schemes are the service's business.
  EXPECT_EQ(
      backend_.service().last_request("basic")->headers().at("authorization"),
      "Basic Zm9v");
}

TEST_F(AuthTest, StreamEndsWithAuthExpiredAtExpAndTheCallIsCancelled) {
  Start(Config());
  // exp is whole seconds: 2-3 s from now.
  const int64_t exp = absl::ToUnixSeconds(absl::Now()) + 3;
  const std::string token = Token("eve", exp);
  auto c = Open("/req/idle?tag=exp", {"Cookie: tok=" + token});
  ASSERT_EQ(c->status(), 200);
  ASSERT_TRUE(WaitFor([&] { return backend_.service().active() == 1; },
                      absl::Seconds(5)));
  ASSERT_TRUE(c->ReadUntil(
      [&] {
        return !c->events().empty() &&
               c->events().back().type == "auth-expired";
      },
      absl::Seconds(10)));
  const absl::Time ended = absl::Now();
  EXPECT_GE(ended, absl::FromUnixSeconds(exp));
  EXPECT_LT(ended, absl::FromUnixSeconds(exp) + absl::Seconds(1));
  EXPECT_TRUE(c->ReadToEof());
  EXPECT_TRUE(WaitFor([&] { return backend_.service().active() == 0; },
                      absl::Seconds(2)));
  EXPECT_EQ(backend_.service().cancelled(), 1);
  // The browser's reconnect with the expired cookie is refused.
  auto again = Open("/req/idle?tag=exp2", {"Cookie: tok=" + token});
  EXPECT_EQ(again->status(), 401);
  EXPECT_EQ(Metric("ssebridge_streams_total{route=\"/req/idle\","
                   "outcome=\"auth_expired\"} "),
            "1");
}

TEST_F(AuthTest, CookiePostsMustComeFromThisSite) {
  Start(Config());
  const std::string cookie = "Cookie: tok=" + Token("cara");
  auto post = [&](const std::vector<std::string>& extra) {
    auto c = std::make_unique<SseClient>();
    EXPECT_TRUE(c->Connect(port_));
    EXPECT_TRUE(c->Post("/req/tokens", "application/x-www-form-urlencoded",
                        "n=1&tag=p", extra));
    EXPECT_TRUE(c->ReadHead());
    return c->status();
  };
  const std::string self = absl::StrCat("Origin: http://127.0.0.1:", port_);
  EXPECT_EQ(post({cookie, "Origin: http://evil.example"}), 403);
  EXPECT_EQ(post({cookie}), 403);  // neither Origin nor Referer
  EXPECT_EQ(post({cookie, "Referer: http://evil.example/x"}), 403);
  EXPECT_EQ(post({cookie, self}), 200);
  // A bearer token is not sent by the browser on its own: no CSRF risk.
  EXPECT_EQ(post({"Authorization: Bearer " + Token("cara"),
                  "Origin: http://evil.example"}),
            200);
  EXPECT_EQ(Metric("ssebridge_auth_refusals_total{route=\"/req/tokens\","
                   "reason=\"origin\"} "),
            "3");
}

TEST_F(AuthTest, DevLoginSetsAnHttpOnlyCookieThatOpensStreams) {
  Start(Config());
  const std::string self = absl::StrCat("http://127.0.0.1:", port_);
  auto login = [&](const std::string& origin, const std::string& body) {
    return Exchange(
        port_,
        absl::StrCat("POST /auth/dev-login HTTP/1.1\r\nHost: 127.0.0.1:", port_,
                     "\r\nOrigin: ", origin,
                     "\r\nContent-Type: application/x-www-form-urlencoded"
                     "\r\nContent-Length: ",
                     body.size(), "\r\n\r\n", body));
  };
  EXPECT_EQ(login("http://evil.example", "name=alice")->status(), 403);
  EXPECT_EQ(login(self, "name=a%20b")->status(), 400);
  auto ok = login(self, "name=alice&next=/notifications.html");
  ASSERT_EQ(ok->status(), 303);
  EXPECT_EQ(ok->header("location"), "/notifications.html");
  const std::string set_cookie = ok->header("set-cookie");
  EXPECT_THAT(set_cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(set_cookie, HasSubstr("SameSite=Lax"));
  EXPECT_THAT(set_cookie, HasSubstr("Max-Age=600"));
  ASSERT_TRUE(absl::StartsWith(set_cookie, "tok="));
  const std::string token = set_cookie.substr(4, set_cookie.find(';') - 4);

  // An open redirect is not possible.
  EXPECT_EQ(login(self, "name=alice&next=//evil.example/")->header("location"),
            "/");

  ASSERT_EQ(Tokens("/req/tokens", "dev", {"Cookie: tok=" + token}), 200);
  EXPECT_EQ(
      backend_.service().last_metadata("dev").find("x-ssebridge-sub")->second,
      "alice");
  auto who = Exchange(port_,
                      "GET /auth/dev-login HTTP/1.1\r\nHost: x\r\n"
                      "Cookie: tok=" +
                          token + "\r\n\r\n");
  EXPECT_EQ(who->status(), 200);
  EXPECT_THAT(who->raw_body(), HasSubstr("\"sub\":\"alice\""));
  auto out =
      Exchange(port_, "GET /auth/dev-login/logout HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(out->status(), 303);
  EXPECT_THAT(out->header("set-cookie"), HasSubstr("Max-Age=0"));
}

// Key rotation: the provider's JWKS file is replaced by one with a new key
// (as a cron job refreshing it from the issuer would). The real binary
// takes the new key on SIGHUP at once (it would also notice the change
// within a second), and a file that does not parse keeps the keys it has.
TEST_F(AuthTest, SighupRereadsTheJwksFileAndABrokenFileKeepsTheOldKeys) {
  const std::string config = dir_ + "/frontend.yaml";
  {
    std::ofstream out(config);
    out << "listen:\n  port: 0\nbackends:\n  - name: test\n    target: "
        << backend_.target() << "\nroutes:\n  - path: /req/tokens\n"
        << "    backend: test\n    action: tokens\n    auth: required\n"
        << "auth:\n  providers:\n    - name: main\n"
        << "      issuer: https://login.test\n      audiences: [sse-bridge]\n"
        << "      jwks_file: " << jwks_ << "\n      algorithms: [ES256]\n"
        << "logging:\n  level: warn\n";
  }
  ssebridge::testing::ChildProcess fe(
      {SSEBRIDGE_FRONTEND_BIN, "--config=" + config});
  auto line = fe.WaitForLine("listening on", absl::Seconds(20));
  ASSERT_TRUE(line.has_value());
  port_ = ssebridge::testing::PortFromListeningLine(*line);
  ASSERT_GT(port_, 0);
  const std::string old_token = Token("old");
  ASSERT_EQ(Tokens("/req/tokens", "a", {"Authorization: Bearer " + old_token}),
            200);

  // A new key pair replaces the old one in place.
  const std::string key2 = dir_ + "/key2.jwk", jwks2 = dir_ + "/jwks2.json";
  ASSERT_TRUE(auth::GenerateEs256KeyFiles(key2, jwks2).ok());
  auto signer2 = auth::TokenSigner::FromJwkJson(ReadFile(key2));
  ASSERT_TRUE(signer2.ok());
  auto new_token = signer2->Sign(absl::StrCat(
      "{\"iss\":\"https://login.test\",\"aud\":\"sse-bridge\",\"sub\":"
      "\"new\",\"exp\":",
      absl::ToUnixSeconds(absl::Now() + absl::Minutes(5)), "}"));
  ASSERT_TRUE(new_token.ok());
  std::filesystem::rename(jwks2, jwks_);
  fe.Signal(SIGHUP);
  EXPECT_TRUE(WaitFor(
      [&] {
        return Tokens("/req/tokens", "b",
                      {"Authorization: Bearer " + *new_token}) == 200;
      },
      absl::Seconds(5)));
  EXPECT_EQ(Tokens("/req/tokens", "c", {"Authorization: Bearer " + old_token}),
            401);

  // A broken file: the keys stay as they were, also after SIGHUP.
  {
    std::ofstream out(jwks_ + ".tmp");
    out << "{\"keys\": [not json";
  }
  std::filesystem::rename(jwks_ + ".tmp", jwks_);
  fe.Signal(SIGHUP);
  // Every later request still verifies with the new key (polled past the
  // file's 1 s recheck so both reload paths have run).
  const absl::Time until = absl::Now() + absl::Milliseconds(1500);
  while (absl::Now() < until) {
    ASSERT_EQ(
        Tokens("/req/tokens", "d", {"Authorization: Bearer " + *new_token}),
        200);
  }
  fe.Signal(SIGTERM);
  EXPECT_TRUE(fe.Wait(absl::Seconds(10)).has_value());
}

TEST_F(AuthTest, UnloadableJwksIsAConfigErrorNamingTheKey) {
  FrontendConfig cfg = Config();
  cfg.mutable_auth()->mutable_providers(0)->set_jwks_file(dir_ +
                                                          "/missing.json");
  auto server = FrontendServer::Create(cfg);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(server.status().message()),
              HasSubstr("auth.providers[0].jwks_file"));
  EXPECT_THAT(std::string(server.status().message()),
              HasSubstr("missing.json"));
}

}  // namespace
}  // namespace ssebridge::frontend

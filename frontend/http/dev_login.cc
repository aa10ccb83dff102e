#include "frontend/http/dev_login.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "frontend/http/http_util.h"
#include "frontend/http/request_auth.h"
#include "frontend/http/request_headers.h"
#include "spdlog/spdlog.h"

namespace ssebridge::frontend {
namespace {

namespace Http = ::Pistache::Http;

void SendPlain(Http::ResponseWriter& response, int code,
               absl::string_view body) {
  response.send(static_cast<Http::Code>(code), std::string(body),
                MIME(Text, Plain));
}

// Names are plain ASCII here, so JSON needs no escaping beyond the check.
std::string Json(const std::string& sub, int64_t exp) {
  return absl::StrCat("{\"sub\":\"", sub, "\",\"name\":\"", sub,
                      "\",\"exp\":", exp, "}\n");
}

// Only a local path: "/x", not "//host" or "/\host" (open redirects).
std::string SafeNext(const std::string& next) {
  if (next.empty() || next[0] != '/' || absl::StartsWith(next, "//") ||
      absl::StartsWith(next, "/\\")) {
    return "/";
  }
  for (char c : next) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7E) return "/";
  }
  return next;
}

}  // namespace

bool IsValidLoginName(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::unique_ptr<DevLogin>> DevLogin::Create(
    const ssebridge::config::v1::DevLogin& config,
    const ssebridge::config::v1::AuthProvider& provider,
    const auth::TokenVerifier* verifier,
    absl::flat_hash_set<std::string> allowed_origins) {
  std::ifstream in(config.signing_key_file());
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth.dev_login.signing_key_file: cannot read ",
                     config.signing_key_file()));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<auth::TokenSigner> signer =
      auth::TokenSigner::FromJwkJson(text.str());
  if (!signer.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "auth.dev_login.signing_key_file: ", config.signing_key_file(), ": ",
        signer.status().message()));
  }
  std::unique_ptr<DevLogin> d(new DevLogin());
  d->path_ = config.path();
  d->logout_path_ = config.path() + "/logout";
  d->issuer_ = provider.issuer();
  d->audience_ = provider.audiences(0);
  d->cookie_ = provider.cookie();
  d->ttl_ = absl::Seconds(config.ttl().seconds()) +
            absl::Nanoseconds(config.ttl().nanos());
  d->signer_.emplace(*std::move(signer));
  d->verifier_ = verifier;
  d->allowed_origins_ = std::move(allowed_origins);
  spdlog::warn(
      "auth.dev_login is on at {}: anyone can sign in as anyone "
      "(development only)",
      d->path_);
  return d;
}

absl::StatusOr<std::string> DevLogin::Issue(const std::string& name,
                                            absl::Time now) const {
  const int64_t iat = absl::ToUnixSeconds(now);
  const int64_t exp = absl::ToUnixSeconds(now + ttl_);
  // Names are checked by IsValidLoginName; issuer and audience come from
  // the validated config and are JSON-escaped here all the same.
  auto quote = [](absl::string_view s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
    return out;
  };
  const std::string claims =
      absl::StrCat("{\"iss\":", quote(issuer_), ",\"aud\":", quote(audience_),
                   ",\"sub\":", quote(name), ",\"name\":", quote(name),
                   ",\"iat\":", iat, ",\"exp\":", exp, "}");
  return signer_->Sign(claims);
}

void DevLogin::Handle(const Http::Request& request,
                      Http::ResponseWriter& response, bool secure) const {
  const std::string& path = request.resource();
  const std::string attrs = absl::StrCat("; Path=/; HttpOnly; SameSite=Lax",
                                         secure ? "; Secure" : "");
  if (path == logout_path_) {
    if (request.method() != Http::Method::Get &&
        request.method() != Http::Method::Post) {
      SendPlain(response, 405, "method not allowed\n");
      return;
    }
    response.headers().add<SetCookieHeader>(
        absl::StrCat(cookie_, "=", attrs, "; Max-Age=0"));
    response.headers().add<LocationHeader>("/");
    SendPlain(response, 303, "signed out\n");
    return;
  }
  if (request.method() == Http::Method::Get) {
    const std::string token =
        CookieValue(HeaderValue(request, "cookie").value_or(""), cookie_);
    if (token.empty()) {
      SendPlain(response, 401, "not signed in\n");
      return;
    }
    auth::TokenVerifier::Result r = verifier_->Verify(token, absl::Now());
    if (!r.ok()) {
      SendPlain(response, 401, "not signed in\n");
      return;
    }
    response.send(
        Http::Code::Ok,
        Json(IsValidLoginName(r.token->subject) ? r.token->subject : "?",
             absl::ToUnixSeconds(r.token->expires)),
        MIME(Application, Json));
    return;
  }
  if (request.method() != Http::Method::Post) {
    SendPlain(response, 405, "method not allowed\n");
    return;
  }
  // Login CSRF: only a form of this site (or an allowed origin) may sign a
  // browser in.
  if (!OriginAllowed(HeaderValue(request, "origin"),
                     HeaderValue(request, "referer"),
                     HeaderValue(request, "host"), allowed_origins_)) {
    SendPlain(response, 403, "forbidden: origin\n");
    return;
  }
  ParamMap form;
  if (absl::Status s = ParseUrlEncoded(request.body(), form); !s.ok()) {
    SendPlain(response, 400, absl::StrCat("bad form: ", s.message(), "\n"));
    return;
  }
  const std::string name = form.count("name") ? form["name"] : "";
  if (!IsValidLoginName(name)) {
    SendPlain(response, 400,
              "name must be 1-32 letters, digits, '.', '_' or '-'\n");
    return;
  }
  absl::StatusOr<std::string> token = Issue(name, absl::Now());
  if (!token.ok()) {
    spdlog::error("dev login: cannot sign a token: {}",
                  std::string(token.status().message()));
    SendPlain(response, 500, "cannot sign a token\n");
    return;
  }
  spdlog::info("dev login: signed in {}", name);
  response.headers().add<SetCookieHeader>(absl::StrCat(
      cookie_, "=", *token, attrs, "; Max-Age=", absl::ToInt64Seconds(ttl_)));
  response.headers().add<LocationHeader>(
      SafeNext(form.count("next") ? form["next"] : "/"));
  SendPlain(response, 303, absl::StrCat("signed in as ", name, "\n"));
}

}  // namespace ssebridge::frontend

#include "frontend/http/stream_request.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "frontend/http/http_util.h"
#include "frontend/http/request_headers.h"

namespace ssebridge::frontend {
namespace {

namespace Http = ::Pistache::Http;
using ::ssebridge::action::v1::ActionRequest;

constexpr size_t kMaxLastEventIdBytes = 1024;

StreamRequest Refuse(StreamRequest& out, int code, std::string body) {
  out.refuse_code = code;
  out.refuse_body = std::move(body);
  return std::move(out);
}

// The part a route's stream and a mux sub-stream share: the forwarded
// headers the request has (into the ActionRequest, and into the call's
// metadata where they are safe there) and the Last-Event-ID. `utf8`: whether
// what the caller already put in is valid UTF-8 (protobuf string fields);
// a 400 says so plainly rather than failing upstream.
StreamRequest FinishStreamRequest(
    const Http::Request& request,
    const std::vector<std::string>& forward_headers,
    const std::string& last_id, bool utf8, StreamRequest& out) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const std::string& name : forward_headers) {
    if (auto v = HeaderValue(request, name)) {
      utf8 = utf8 && IsValidUtf8(*v);
      headers.emplace_back(name, std::move(*v));
    }
  }
  if (!utf8) {
    return Refuse(out, 400, "request parameters and headers must be UTF-8\n");
  }
  ActionRequest& req = out.request;
  req.set_last_event_id(last_id);
  for (auto& [name, v] : headers) {
    if (IsMetadataSafe(v)) out.metadata.emplace_back(name, v);
    (*req.mutable_headers())[name] = std::move(v);
  }
  return std::move(out);
}

}  // namespace

StreamRequest ParseStreamRequest(
    const Http::Request& request,
    const std::vector<std::string>& forward_headers, bool keep_json_body) {
  StreamRequest out;
  ActionRequest& req = out.request;
  req.set_path(request.resource());
  req.set_method(Http::methodString(request.method()));
  ParamMap params;
  for (auto it = request.query().parameters_begin();
       it != request.query().parameters_end(); ++it) {
    auto k = PercentDecode(it->first, true);
    auto v = PercentDecode(it->second, true);
    if (!k.ok() || !v.ok()) {
      return Refuse(out, 400, "bad query string: invalid percent-escape\n");
    }
    params[*k] = *v;
  }
  if (request.method() == Http::Method::Post && !request.body().empty()) {
    std::string type;
    if (auto ct = request.headers().tryGet<Http::Header::ContentType>()) {
      type = absl::AsciiStrToLower(ct->mime().toString());
    }
    absl::Status s;
    if (absl::StartsWith(type, "application/x-www-form-urlencoded")) {
      s = ParseUrlEncoded(request.body(), params);
    } else if (absl::StartsWith(type, "application/json")) {
      if (keep_json_body) {
        out.json_body = request.body();
        if (!IsValidUtf8(out.json_body)) {
          return Refuse(out, 400, "bad body: not UTF-8\n");
        }
      } else {
        s = ParseJsonObject(request.body(), params);
      }
    } else {
      return Refuse(out, 415, "body must be application/x-www-form-urlencoded or "
                "application/json\n");
    }
    if (!s.ok()) {
      return Refuse(out, 400, absl::StrCat("bad body: ", s.message(), "\n"));
    }
  }
  std::string last_id;
  if (auto h = HeaderValue(request, "last-event-id")) {
    last_id = *h;
  } else if (auto it = params.find("lastEventId"); it != params.end()) {
    last_id = it->second;
  }
  if (last_id.size() > kMaxLastEventIdBytes) {
    return Refuse(out, 400, "Last-Event-ID too long\n");
  }
  bool utf8 = IsValidUtf8(last_id);
  for (const auto& [k, v] : params) utf8 = utf8 && IsValidUtf8(k) && IsValidUtf8(v);
  for (auto& [k, v] : params) (*req.mutable_params())[k] = std::move(v);
  return FinishStreamRequest(request, forward_headers, last_id, utf8, out);
}

StreamRequest SubStreamRequest(
    const Http::Request& request, const std::string& path,
    const std::vector<std::pair<std::string, std::string>>& params,
    const std::string& last_event_id,
    const std::vector<std::string>& forward_headers) {
  StreamRequest out;
  ActionRequest& req = out.request;
  req.set_path(path);
  req.set_method("GET");
  if (last_event_id.size() > kMaxLastEventIdBytes) {
    return Refuse(out, 400, "Last-Event-ID too long\n");
  }
  // The mux query's parser has checked the parameters' UTF-8.
  for (const auto& [k, v] : params) (*req.mutable_params())[k] = v;
  return FinishStreamRequest(request, forward_headers, last_event_id,
                             /*utf8=*/true, out);
}

}  // namespace ssebridge::frontend

// Reading request headers from Pistache's parsed request, and the plain
// string response headers Pistache 0.0.5 lacks (it writes only typed
// headers). Thread-safe: functions and value types only.
#ifndef SSEBRIDGE_FRONTEND_HTTP_REQUEST_HEADERS_H_
#define SSEBRIDGE_FRONTEND_HTTP_REQUEST_HEADERS_H_

#include <pistache/http.h>
#include <pistache/http_header.h>

#include <optional>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"

namespace ssebridge::frontend {

// Pistache writes only typed headers into its responses; these carry the
// few plain string headers the frontend adds.
#define SSEBRIDGE_STRING_HEADER(Class, header_name)                  \
  class Class : public Pistache::Http::Header::Header {                        \
   public:                                                           \
    NAME(header_name)                                                \
    Class() = default;                                               \
    explicit Class(std::string v) : value_(std::move(v)) {}          \
    void parse(const std::string& d) override { value_ = d; }        \
    void write(std::ostream& os) const override { os << value_; }    \
                                                                     \
   private:                                                          \
    std::string value_;                                              \
  };
SSEBRIDGE_STRING_HEADER(RetryAfterHeader, "Retry-After")
SSEBRIDGE_STRING_HEADER(ETagHeader, "ETag")
SSEBRIDGE_STRING_HEADER(LastModifiedHeader, "Last-Modified")
SSEBRIDGE_STRING_HEADER(NoCacheHeader, "Cache-Control")
SSEBRIDGE_STRING_HEADER(AcaoHeader, "Access-Control-Allow-Origin")
SSEBRIDGE_STRING_HEADER(AcacHeader, "Access-Control-Allow-Credentials")
SSEBRIDGE_STRING_HEADER(AcamHeader, "Access-Control-Allow-Methods")
SSEBRIDGE_STRING_HEADER(AcahHeader, "Access-Control-Allow-Headers")
SSEBRIDGE_STRING_HEADER(AcmaHeader, "Access-Control-Max-Age")
SSEBRIDGE_STRING_HEADER(VaryHeader, "Vary")
SSEBRIDGE_STRING_HEADER(SetCookieHeader, "Set-Cookie")
SSEBRIDGE_STRING_HEADER(LocationHeader, "Location")
SSEBRIDGE_STRING_HEADER(WwwAuthenticateHeader, "WWW-Authenticate")
#undef SSEBRIDGE_STRING_HEADER


// A request header's value, whether Pistache kept it raw or parsed it
// (`name` in lower case; cookies are rejoined as "a=1; b=2").
std::optional<std::string> HeaderValue(const Pistache::Http::Request& request,
                                       const std::string& name);

// gRPC metadata values must be printable ASCII.
bool IsMetadataSafe(absl::string_view v);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_HTTP_REQUEST_HEADERS_H_

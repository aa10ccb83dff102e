// Helpers for the example services' tests: start an ActionServer and a real
// FrontendServer (configured from YAML text, as an operator would) on
// 127.0.0.1 ephemeral ports, run gRPC calls with deadlines, wait for
// conditions with a bound, and read SSE events with a bound.
//
// Thread-safety: the free functions are thread-safe; each returned object
// follows its own type's rules.
#ifndef SSEBRIDGE_TESTS_SERVICES_SERVICE_TEST_UTIL_H_
#define SSEBRIDGE_TESTS_SERVICES_SERVICE_TEST_UTIL_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/sdk/sdk.h"
#include "frontend/http/frontend_server.h"
#include "google/protobuf/struct.pb.h"
#include "ssebridge/action/v1/action.grpc.pb.h"
#include "tests/util/sse_client.h"
#include "tests/util/test_util.h"

namespace ssebridge::testing {

// The bound on every wait in these tests.
inline constexpr absl::Duration kWait = absl::Seconds(15);

// Polls `pred` (every 2 ms) until it holds or `timeout` passes.
// WaitFor(pred, timeout) comes from tests/util/test_util.h; this one uses
// the services tests' default timeout.
inline bool WaitFor(const std::function<bool()>& pred) {
  return WaitFor(pred, kWait);
}

// Starts `server` on 127.0.0.1:0.
std::unique_ptr<sdk::RunningServer> StartService(
    const sdk::ActionServer& server);

// Parses `yaml` with the frontend's config loader, then creates and starts
// the frontend. Fails the calling test (ADD_FAILURE) and returns null on
// error.
std::unique_ptr<frontend::FrontendServer> StartFrontend(absl::string_view yaml);

// A frontend config with one backend named `backend` at 127.0.0.1:`port` and
// the given route entries (YAML list items, already indented by 2).
std::string FrontendYaml(absl::string_view backend, int port,
                         absl::string_view routes);

// One finished gRPC call.
struct CallResult {
  std::vector<ssebridge::action::v1::Event> events;
  grpc::Status status;
};

// gRPC metadata for a call, e.g. the identity the frontend passes on an
// authenticated route: {{"x-ssebridge-sub", "kim"}}.
using CallMetadata = std::vector<std::pair<std::string, std::string>>;

// Runs `request` against 127.0.0.1:`port` to its end (with a kWait deadline),
// sending `metadata` with the call.
CallResult RunCall(int port,
                   const ssebridge::action::v1::ActionRequest& request,
                   const CallMetadata& metadata = {});

// The metadata of a call the frontend verified as `subject` (sdk::Request::
// Subject()), plus claims as x-ssebridge-claim-<name>.
CallMetadata SignedIn(
    absl::string_view subject,
    const std::vector<std::pair<std::string, std::string>>& claims = {});

ssebridge::action::v1::ActionRequest MakeRequest(
    absl::string_view action,
    const std::vector<std::pair<std::string, std::string>>& params = {});

// Reads until `client` has at least `n` events (or EOF / the bound).
bool ReadEvents(SseClient& client, size_t n, absl::Duration timeout = kWait);

// Counts events of type `type` in `client` so far.
size_t CountEvents(const SseClient& client, absl::string_view type);

// Parses compact JSON (an SSE data payload) into a protobuf Value.
absl::StatusOr<google::protobuf::Value> ParseJson(absl::string_view json);

// The number at `path` ("memory.total_kb") in `value`, or NaN.
double NumberAt(const google::protobuf::Value& value, absl::string_view path);

}  // namespace ssebridge::testing

#endif  // SSEBRIDGE_TESTS_SERVICES_SERVICE_TEST_UTIL_H_

// A scriptable in-process ActionService for integration tests, on the gRPC
// callback API. The request's action picks the behaviour:
//   "script"    - the events registered with SetScript(params["script"]),
//                 then that script's final status (with params["gate"] =
//                 "1" only once OpenGate(tag) was called)
//   "tokens"    - params["n"] events "<params[tag]>-<i>" with id i, then OK
//   "endless"   - events as fast as flow control allows until cancelled
//   "idle"      - nothing (initial metadata only) until cancelled
//   "fail_after"- params["k"] events, then UNAVAILABLE "boom"
//   "echo"      - one json event describing the request, then OK
//   "paced"     - params["n"] events every params["ms"] ms, then OK; with
//                 params["resume"] = "1" it starts after a numeric
//                 Last-Event-ID
//   "numbered"  - params["n"] events (default: practically endless), one
//                 every params["us"] microseconds (default 1000; 0: as fast
//                 as the call takes them), each with id "<params[id]><i>"
//                 (id default "e") and text "<tag>-<i>"; never more than 64
//                 queued. With params["gate"] = "1", after the n events it
//                 waits until OpenGate(tag), then sends event n and ends OK
//                 (without: ends OK after the n events)
// It counts active calls and cancellations (with timestamps) so tests can
// check that the frontend cancels calls promptly and leaks none.
// Thread-safe.
#ifndef SSEBRIDGE_TESTS_UTIL_TEST_SERVICE_H_
#define SSEBRIDGE_TESTS_UTIL_TEST_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ssebridge/action/v1/action.grpc.pb.h"

namespace ssebridge::testing {

class TestService final
    : public ssebridge::action::v1::ActionService::CallbackService {
 public:
  grpc::ServerWriteReactor<ssebridge::action::v1::Event>* Run(
      grpc::CallbackServerContext* ctx,
      const ssebridge::action::v1::ActionRequest* request) override;

  void SetScript(const std::string& name,
                 std::vector<ssebridge::action::v1::Event> events,
                 grpc::Status final_status = grpc::Status::OK);

  int64_t active() const { return active_.load(); }
  int64_t started() const { return started_.load(); }
  int64_t cancelled() const { return cancelled_.load(); }
  int64_t endless_written() const { return endless_written_.load(); }
  // Time of each cancellation, keyed by params["tag"].
  std::map<std::string, absl::Time> cancel_times() const;
  // The last request seen with params["tag"] == tag.
  std::optional<ssebridge::action::v1::ActionRequest> last_request(
      const std::string& tag) const;

  // The client metadata (lower-case keys, values as sent) of the last call
  // with params["tag"] == tag.
  std::multimap<std::string, std::string> last_metadata(
      const std::string& tag) const;
  // Distinct client peers (ip:port) that made calls, i.e. connections.
  std::set<std::string> peers() const;
  // params["tag"] of every call still active (one entry per call).
  std::multiset<std::string> active_tags() const;

  // Lets "numbered" calls with gate=1 and this tag finish (see above).
  void OpenGate(const std::string& tag);
  bool GateOpen(const std::string& tag) const;

  // Internal, used by the reactor.
  void OnCallDone(const std::string& tag, bool cancelled);
  struct Script {
    std::vector<ssebridge::action::v1::Event> events;
    grpc::Status status;
  };
  Script GetScriptForTest(const std::string& name);
  std::atomic<int64_t> endless_written_{0};

 private:
  std::atomic<int64_t> active_{0};
  std::atomic<int64_t> started_{0};
  std::atomic<int64_t> cancelled_{0};
  mutable std::mutex mu_;
  std::map<std::string, Script> scripts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> cancel_times_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ssebridge::action::v1::ActionRequest> requests_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::multimap<std::string, std::string>> metadata_
      ABSL_GUARDED_BY(mu_);
  std::set<std::string> peers_ ABSL_GUARDED_BY(mu_);
  std::multiset<std::string> active_tags_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> open_gates_ ABSL_GUARDED_BY(mu_);
};

// Runs a gRPC server with a TestService (and, unless `health` is false, the
// standard health service) on 127.0.0.1 (ephemeral port unless `port` is
// given, e.g. to restart on the same port).
class TestServer {
 public:
  explicit TestServer(int port = 0, bool health = true);
  ~TestServer();
  int port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  TestService& service() { return service_; }
  void Stop();

 private:
  TestService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace ssebridge::testing

#endif  // SSEBRIDGE_TESTS_UTIL_TEST_SERVICE_H_

// A gRPC service that knows nothing of sse-bridge, for tests of `grpc`
// routes (issue 20): ssebridge.test.v1.Readings (tests/protos) on the
// callback API. Watch streams `count` readings (0: until cancelled),
// `interval_ms` apart, numbered from start_seq (or after_seq + 1 when
// resuming), then ends OK (UNAVAILABLE "boom" with `fail`); the other
// methods are left unimplemented (they exist to be refused as routes).
// The service keeps books by the request's `tag`: calls started, active and
// cancelled (with the time the cancellation arrived), the last request and
// its metadata.
//
// ReadingsServer runs it on 127.0.0.1 (ephemeral port) with the standard
// health service and, unless told otherwise, gRPC server reflection.
// Thread-safe.
#ifndef SSEBRIDGE_TESTS_UTIL_READINGS_SERVICE_H_
#define SSEBRIDGE_TESTS_UTIL_READINGS_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "ssebridge/test/v1/readings.grpc.pb.h"

namespace ssebridge::testing {

class ReadingsService final
    : public ssebridge::test::v1::Readings::CallbackService {
 public:
  grpc::ServerWriteReactor<ssebridge::test::v1::Reading>* Watch(
      grpc::CallbackServerContext* ctx,
      const ssebridge::test::v1::WatchRequest* request) override;

  // The reading Watch sends with sequence number `seq` for `request`.
  static ssebridge::test::v1::Reading MakeReading(
      const ssebridge::test::v1::WatchRequest& request, int64_t seq);

  int64_t started() const { return started_.load(); }
  int64_t active() const { return active_.load(); }
  int64_t cancelled() const { return cancelled_.load(); }
  // When the cancellation of the call tagged `tag` arrived, if it did.
  std::optional<absl::Time> cancel_time(const std::string& tag) const;
  std::optional<ssebridge::test::v1::WatchRequest> last_request(
      const std::string& tag) const;
  std::multimap<std::string, std::string> last_metadata(
      const std::string& tag) const;

  // Internal, used by the reactor.
  void OnCancelled(const std::string& tag);
  void OnCallDone(bool cancelled);

 private:
  std::atomic<int64_t> started_{0};
  std::atomic<int64_t> active_{0};
  std::atomic<int64_t> cancelled_{0};
  mutable std::mutex mu_;
  std::map<std::string, absl::Time> cancel_times_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ssebridge::test::v1::WatchRequest> requests_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::multimap<std::string, std::string>> metadata_
      ABSL_GUARDED_BY(mu_);
};

class ReadingsServer {
 public:
  // `reflection`: also serve grpc.reflection.v1alpha.ServerReflection.
  // gRPC turns reflection on process-wide for every server built after the
  // first that asks for it, so a server without it must come first.
  explicit ReadingsServer(bool reflection = true);
  ~ReadingsServer();
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  ReadingsService& service() { return service_; }
  // The standard health service's status for `service` ("" = the server).
  void SetServing(const std::string& service, bool serving);
  // Whether an earlier server in this process turned reflection on.
  static bool ReflectionOn();

 private:
  ReadingsService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace ssebridge::testing

#endif  // SSEBRIDGE_TESTS_UTIL_READINGS_SERVICE_H_

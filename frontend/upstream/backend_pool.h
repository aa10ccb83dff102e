// BackendPool: the gRPC channels to one backend, created at start-up, and
// round-robin selection of a channel per stream (several channels so that
// more than ~100 concurrent streams are not capped by one HTTP/2
// connection's MaxConcurrentStreams). Channel settings follow DESIGN §5: BDP
// probing off, ~64 KiB stream lookahead (bounded buffering for slow
// clients), keepalive pings, round_robin over resolved addresses.
// Thread-safe: Next() may be called from any thread.
#ifndef SSEBRIDGE_FRONTEND_UPSTREAM_BACKEND_POOL_H_
#define SSEBRIDGE_FRONTEND_UPSTREAM_BACKEND_POOL_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "ssebridge/action/v1/action.grpc.pb.h"

namespace ssebridge::frontend {

// Backend.stream_window_bytes when not set.
inline constexpr int kDefaultStreamWindowBytes = 64 * 1024;

// The arguments of the frontend's backend channels; `index` keeps the
// channels of one pool on separate connections. Shared with the benchmark
// that measures gRPC's own cost (tests/bench/grpc_stream_cost).
grpc::ChannelArguments BackendChannelArgs(
    int index, int stream_window_bytes = kDefaultStreamWindowBytes);

class BackendPool {
 public:
  BackendPool(std::string name, const std::string& target, int channels,
              int stream_window_bytes = kDefaultStreamWindowBytes);

  struct Pick {
    grpc::Channel* channel;
    ssebridge::action::v1::ActionService::Stub* stub;
    grpc::GenericStub* generic;  // for any method, by name (`grpc` routes)
    // The backend's count of calls in flight: a call adds one when it
    // starts and takes it back when it ends (OnDone).
    std::atomic<int64_t>* calls;
  };
  Pick Next();

  // Calls started on this backend and not yet ended (for /metrics: a
  // number that only grows under steady load is a leak).
  int64_t calls_in_flight() const {
    return calls_in_flight_.load(std::memory_order_relaxed);
  }

  const std::string& name() const { return name_; }
  // The shared channel used for health checks.
  std::shared_ptr<grpc::Channel> channel(int i) const { return channels_[i]; }
  int size() const { return static_cast<int>(channels_.size()); }

 private:
  std::string name_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<ssebridge::action::v1::ActionService::Stub>>
      stubs_;
  std::vector<std::unique_ptr<grpc::GenericStub>> generic_stubs_;
  std::atomic<uint32_t> next_{0};
  std::atomic<int64_t> calls_in_flight_{0};
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_UPSTREAM_BACKEND_POOL_H_

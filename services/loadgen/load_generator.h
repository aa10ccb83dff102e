// The loadgen action service's engine: the `load` action streams synthetic
// events for benchmarks (tests/bench/run_bench) at a given rate, count and
// size, or holds a stream open without sending anything.
//
// Request parameters (all optional):
//   rate   events/s on this stream; 0 (default) = as fast as the stream's
//          queue and gRPC flow control allow
//   count  events to send, then finish with OK; 0 (default) = endless
//   bytes  payload size of each event (default 64)
//   idle   1 = send nothing and keep the stream open (held-connection tests)
//   start_ms  wait this long before the first event (default 0, at most
//          60000): lets every subscriber of a shared route join first
//   ids    1 = every event carries its seq as its id (what a route's replay
//          ring keeps); 0 (default) = no ids
// Every event is a `raw` payload "t=<CLOCK_REALTIME ns> seq=<n> " followed by
// 'x' padding up to `bytes`, so a client computes end-to-end latency and
// checks ordering (seq counts 1, 2, 3, ... per stream).
//
// No thread per stream: the action is an AsyncAction. Idle streams are not
// even remembered (the SDK keeps the call open until the client leaves).
// Active streams are spread over a few scheduler threads, each with its own
// queue of streams ordered by when they are next due.
//
// Thread-safety: LoadGenerator's public methods are thread-safe.
#ifndef SSEBRIDGE_SERVICES_LOADGEN_LOAD_GENERATOR_H_
#define SSEBRIDGE_SERVICES_LOADGEN_LOAD_GENERATOR_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/sdk/sdk.h"

namespace ssebridge::loadgen {

struct LoadParams {
  double rate = 0;       // events/s; 0 = as fast as possible
  int64_t count = 0;     // 0 = endless
  size_t bytes = 64;     // payload size
  bool idle = false;     // send nothing
  int64_t start_ms = 0;  // delay before the first event
  bool ids = false;      // event id = seq
};

// Reads the request's parameters; INVALID_ARGUMENT names the bad one.
absl::StatusOr<LoadParams> ParseLoadParams(const sdk::Request& request);

// The payload of event `seq` stamped with `t_ns`: "t=<t_ns> seq=<seq> "
// padded with 'x' to `bytes` (longer if the prefix alone is longer).
std::string MakePayload(int64_t t_ns, uint64_t seq, size_t bytes);

// CLOCK_REALTIME in nanoseconds (the clock the t= field uses).
int64_t RealtimeNs();

class LoadGenerator {
 public:
  // `threads` scheduler threads (at least 1), started at once.
  explicit LoadGenerator(int threads = 1);
  // Stop().
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Registers the `load` action on `server`; this generator must outlive
  // every RunningServer started from it.
  void Register(sdk::ActionServer& server);

  // Starts generating on `stream` (what the `load` action does).
  void Add(const LoadParams& params, sdk::Stream stream);

  // Stops and joins the threads; streams still active are finished with
  // UNAVAILABLE. Idempotent.
  void Stop();

  // Streams currently scheduled (not idle ones), for tests.
  int64_t active_streams() const {
    return active_.load(std::memory_order_relaxed);
  }

 private:
  struct Active;
  class Worker;

  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<uint32_t> next_worker_{0};
  std::atomic<int64_t> active_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace ssebridge::loadgen

#endif  // SSEBRIDGE_SERVICES_LOADGEN_LOAD_GENERATOR_H_

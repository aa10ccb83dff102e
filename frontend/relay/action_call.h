// ActionCall: a stream's own upstream call. It runs one EventRpc (the
// route's method: ActionService.Run, or any server-streaming method on a
// `grpc` route, see event_rpc.h), hands each event to its StreamSink and
// follows the sink's verdict: read on, pause (no read outstanding, a hold
// taken, until the sink's IoLoop calls Resume), or stop and cancel.
//
// Lifetime: shared_ptr; held by itself from Start() until the call is done,
// and by its sink (as its Upstream) until the sink's socket closes. It holds
// its sink until then, so a sink outlives every callback that reaches it.
// It owns its EventRpc.
//
// Thread-safety: Leave/Resume/CancelIfStuck may be called from any thread.
// `mu_` is held while a message is handed to the sink, so that a Resume()
// triggered by that very delivery waits until the pause is recorded.
#ifndef SSEBRIDGE_FRONTEND_RELAY_ACTION_CALL_H_
#define SSEBRIDGE_FRONTEND_RELAY_ACTION_CALL_H_

#include <atomic>
#include <memory>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "frontend/ops/stats.h"
#include "frontend/relay/event_rpc.h"
#include "frontend/relay/stream_sink.h"
#include "frontend/upstream/backend_pool.h"
#include "ssebridge/action/v1/action.pb.h"

namespace ssebridge::frontend {

class ActionCall : public EventRpc::Handler,
                   public Upstream,
                   public std::enable_shared_from_this<ActionCall> {
 public:
  // Starts the call `make_rpc` makes on the picked channel, for `sink`.
  // With `head_now` the sink's SSE head goes out at once; otherwise it
  // waits for the backend's first sign of life (initial metadata, an event
  // or the end of the call) so that a backend that is down gets a plain 503
  // instead of a 200 stream. Starts nothing if the sink's socket already
  // closed.
  static void Start(const std::shared_ptr<StreamSink>& sink,
                    const BackendPool::Pick& pick,
                    const EventRpcFactory& make_rpc, FrontendStats* stats,
                    bool head_now);

  explicit ActionCall(std::shared_ptr<StreamSink> sink, FrontendStats* stats);

  // Upstream.
  void Leave(const StreamSink* sink) override;
  void Resume() override;
  bool CancelIfStuck(absl::Time now, absl::Duration after) override;
  bool shared() const override { return false; }

  // EventRpc::Handler.
  void OnRpcHead() override;
  void OnRpcRead(bool ok) override;
  void OnRpcDone(const absl::Status& status) override;

 private:
  FrontendStats* const stats_;
  const absl::Time started_;
  std::atomic<int64_t>* calls_ = nullptr;  // the backend's in-flight count
  // Set before the call starts, then only used through its thread-safe
  // operations.
  std::unique_ptr<EventRpc> rpc_;
  // gRPC side only (reactions are serialised): the read target, the sink
  // (until done) and the reference that keeps this call alive until then.
  ssebridge::action::v1::Event event_;
  std::shared_ptr<StreamSink> sink_;
  std::shared_ptr<ActionCall> self_;
  bool first_event_seen_ = false;

  std::mutex mu_;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;      // no read outstanding, a hold
  bool done_ ABSL_GUARDED_BY(mu_) = false;        // OnRpcDone ran
  bool unreadable_ ABSL_GUARDED_BY(mu_) = false;  // cancelled as stuck
  // When OnRpcRead(false) came, in absl::ToUnixNanos; 0 while reading.
  std::atomic<int64_t> read_ended_ns_{0};
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_ACTION_CALL_H_

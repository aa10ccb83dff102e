// ActionCall: a stream's own upstream call, ActionService.Run as a gRPC
// ClientReadReactor (callbacks on gRPC's threads). It hands each message to
// its StreamSink and follows the sink's verdict: read on, pause (no read
// outstanding, a hold taken, until the sink's IoLoop calls Resume), or stop
// and cancel.
//
// Lifetime: shared_ptr; held by itself from Start() until OnDone, and by its
// sink (as its Upstream) until the sink's socket closes. It holds its sink
// until OnDone, so a sink outlives every callback that reaches it.
//
// Thread-safety: Leave/Resume/CancelIfStuck may be called from any thread.
// `mu_` is held while a message is handed to the sink, so that a Resume()
// triggered by that very delivery waits until the pause is recorded.
#ifndef SSEBRIDGE_FRONTEND_RELAY_ACTION_CALL_H_
#define SSEBRIDGE_FRONTEND_RELAY_ACTION_CALL_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "frontend/ops/stats.h"
#include "frontend/relay/stream_sink.h"
#include "frontend/upstream/backend_pool.h"
#include "ssebridge/action/v1/action.grpc.pb.h"

namespace ssebridge::frontend {

class ActionCall : public grpc::ClientReadReactor<ssebridge::action::v1::Event>,
                   public Upstream,
                   public std::enable_shared_from_this<ActionCall> {
 public:
  // Starts `request` on the picked channel for `sink`. With `head_now` the
  // sink's SSE
  // head goes out at once; otherwise it waits for the backend's first sign
  // of life (initial metadata, an event or the end of the call) so that a
  // backend that is down gets a plain 503 instead of a 200 stream. Starts
  // nothing if the sink's socket already closed.
  static void Start(
      const std::shared_ptr<StreamSink>& sink, const BackendPool::Pick& pick,
      ssebridge::action::v1::ActionRequest request,
      const std::vector<std::pair<std::string, std::string>>& metadata,
      FrontendStats* stats, bool head_now);

  explicit ActionCall(std::shared_ptr<StreamSink> sink, FrontendStats* stats);

  // Upstream.
  void Leave(const StreamSink* sink) override;
  void Resume() override;
  bool CancelIfStuck(absl::Time now, absl::Duration after) override;
  bool shared() const override { return false; }

  // gRPC reactions.
  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  FrontendStats* const stats_;
  const absl::Time started_;
  std::atomic<int64_t>* calls_ = nullptr;  // the backend's in-flight count
  grpc::ClientContext ctx_;
  ssebridge::action::v1::ActionRequest request_;
  // gRPC side only (reactions are serialised): the read target, the sink
  // (until OnDone) and the reference that keeps this call alive until then.
  ssebridge::action::v1::Event event_;
  std::shared_ptr<StreamSink> sink_;
  std::shared_ptr<ActionCall> self_;
  bool first_event_seen_ = false;

  std::mutex mu_;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;      // no read outstanding, a hold
  bool done_ ABSL_GUARDED_BY(mu_) = false;        // OnDone ran
  bool unreadable_ ABSL_GUARDED_BY(mu_) = false;  // cancelled as stuck
  // When OnReadDone(false) came, in absl::ToUnixNanos; 0 while reading.
  std::atomic<int64_t> read_ended_ns_{0};
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_ACTION_CALL_H_

#include "frontend/relay/action_call.h"

#include "frontend/relay/session_settings.h"

namespace ssebridge::frontend {

void ActionCall::Start(const std::shared_ptr<StreamSink>& sink,
                       const BackendPool::Pick& pick,
                       const EventRpcFactory& make_rpc, FrontendStats* stats,
                       bool head_now) {
  auto call = std::make_shared<ActionCall>(sink, stats);
  call->rpc_ = make_rpc(pick);
  // From here a closing socket cancels the call (also before it started:
  // ClientContext then cancels it as soon as it exists).
  if (!sink->SetUpstream(call)) return;
  if (head_now) sink->CommitHead();
  call->self_ = call;
  call->calls_ = pick.calls;
  call->calls_->fetch_add(1, std::memory_order_relaxed);
  call->rpc_->Start(call.get(), &call->event_);
}

ActionCall::ActionCall(std::shared_ptr<StreamSink> sink, FrontendStats* stats)
    : stats_(stats), started_(absl::Now()), sink_(std::move(sink)) {}

void ActionCall::OnRpcHead() { sink_->CommitHead(); }

void ActionCall::OnRpcRead(bool ok) {
  if (!ok) {  // stream over; OnRpcDone follows (see CancelIfStuck)
    read_ended_ns_.store(absl::ToUnixNanos(absl::Now()),
                         std::memory_order_relaxed);
    return;
  }
  if (!first_event_seen_) {
    first_event_seen_ = true;
    stats_->ObserveFirstEvent(absl::ToDoubleSeconds(absl::Now() - started_));
  }
  // Decided under the lock, done after it: gRPC calls (Read, Cancel) never
  // run while holding mu_.
  bool read = false;
  bool cancel = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    switch (sink_->OnMessage(event_)) {
      case StreamSink::Verdict::kKeep:
        read = true;
        break;
      case StreamSink::Verdict::kPause:
        // gRPC flow control now pushes back on the service. The hold keeps
        // OnRpcDone away until Resume() or Leave().
        rpc_->AddHold();
        paused_ = true;
        break;
      case StreamSink::Verdict::kDrop:
        cancel = true;
        break;
    }
  }
  if (read) rpc_->Read(&event_);
  if (cancel) rpc_->Cancel();
}

void ActionCall::Resume() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!paused_) return;
    paused_ = false;
  }
  rpc_->Read(&event_);
  rpc_->RemoveHold();
}

void ActionCall::Leave(const StreamSink* /*sink*/) {
  bool release_hold = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return;
    release_hold = paused_;
    paused_ = false;
  }
  rpc_->Cancel();  // also fine before the call has started
  if (release_hold) rpc_->RemoveHold();
}

bool ActionCall::CancelIfStuck(absl::Time now, absl::Duration after) {
  const int64_t ended = read_ended_ns_.load(std::memory_order_relaxed);
  if (ended == 0 || now - absl::FromUnixNanos(ended) <= after) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_ || unreadable_) return false;
    unreadable_ = true;
  }
  rpc_->Cancel();
  return true;
}

void ActionCall::OnRpcDone(const absl::Status& status) {
  absl::Status end = status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    if (unreadable_) end = absl::InternalError(kUnparsableUpstream);
  }
  sink_->EndUpstream(end);
  calls_->fetch_sub(1, std::memory_order_relaxed);
  // The sink and this call's own reference go last; either may free the
  // other side (and this call its EventRpc, whose OnDone this is).
  std::shared_ptr<StreamSink> sink = std::move(sink_);
  std::shared_ptr<ActionCall> keep = std::move(self_);
}

}  // namespace ssebridge::frontend

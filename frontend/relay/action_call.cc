#include "frontend/relay/action_call.h"

#include "common/status/grpc_status.h"
#include "common/tsan/annotations.h"
#include "frontend/relay/session_settings.h"

#define TSAN_ACQUIRE(p) SSEBRIDGE_TSAN_ACQUIRE(p)
#define TSAN_RELEASE(p) SSEBRIDGE_TSAN_RELEASE(p)

namespace ssebridge::frontend {

using ::ssebridge::action::v1::ActionRequest;
using ::ssebridge::action::v1::ActionService;

void ActionCall::Start(
    const std::shared_ptr<StreamSink>& sink, const BackendPool::Pick& pick,
    ActionRequest request,
    const std::vector<std::pair<std::string, std::string>>& metadata,
    FrontendStats* stats, bool head_now) {
  auto call = std::make_shared<ActionCall>(sink, stats);
  // From here a closing socket cancels the call (also before it started:
  // ClientContext then cancels it as soon as it exists).
  if (!sink->SetUpstream(call)) return;
  if (head_now) sink->CommitHead();
  call->request_ = std::move(request);
  for (const auto& [k, v] : metadata) call->ctx_.AddMetadata(k, v);
  call->self_ = call;
  call->calls_ = pick.calls;
  call->calls_->fetch_add(1, std::memory_order_relaxed);
  pick.stub->async()->Run(&call->ctx_, &call->request_, call.get());
  TSAN_RELEASE(call.get());
  call->StartRead(&call->event_);
  call->StartCall();
}

ActionCall::ActionCall(std::shared_ptr<StreamSink> sink, FrontendStats* stats)
    : stats_(stats), started_(absl::Now()), sink_(std::move(sink)) {}

void ActionCall::OnReadInitialMetadataDone(bool ok) {
  TSAN_ACQUIRE(this);
  if (ok) sink_->CommitHead();
  TSAN_RELEASE(this);
}

void ActionCall::OnReadDone(bool ok) {
  TSAN_ACQUIRE(this);
  if (!ok) {  // stream over; OnDone follows (see CancelIfStuck)
    read_ended_ns_.store(absl::ToUnixNanos(absl::Now()),
                         std::memory_order_relaxed);
    TSAN_RELEASE(this);
    return;
  }
  if (!first_event_seen_) {
    first_event_seen_ = true;
    stats_->ObserveFirstEvent(absl::ToDoubleSeconds(absl::Now() - started_));
  }
  // Decided under the lock, done after it: gRPC calls (StartRead,
  // TryCancel) never run while holding mu_.
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
        // OnDone away until Resume() or Leave().
        AddHold();
        paused_ = true;
        break;
      case StreamSink::Verdict::kDrop:
        cancel = true;
        break;
    }
  }
  TSAN_RELEASE(this);
  if (read) StartRead(&event_);
  if (cancel) ctx_.TryCancel();
}

void ActionCall::Resume() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!paused_) return;
    paused_ = false;
  }
  TSAN_RELEASE(this);
  StartRead(&event_);
  RemoveHold();
}

void ActionCall::Leave(const StreamSink* /*sink*/) {
  bool release_hold = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return;
    release_hold = paused_;
    paused_ = false;
  }
  ctx_.TryCancel();  // also fine before the call has started
  if (release_hold) RemoveHold();
}

bool ActionCall::CancelIfStuck(absl::Time now, absl::Duration after) {
  const int64_t ended = read_ended_ns_.load(std::memory_order_relaxed);
  if (ended == 0 || now - absl::FromUnixNanos(ended) <= after) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_ || unreadable_) return false;
    unreadable_ = true;
  }
  ctx_.TryCancel();
  return true;
}

void ActionCall::OnDone(const grpc::Status& status) {
  TSAN_ACQUIRE(this);
  absl::Status end = common::ToAbslStatus(status);
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    if (unreadable_) end = absl::InternalError(kUnparsableUpstream);
  }
  sink_->EndUpstream(end);
  calls_->fetch_sub(1, std::memory_order_relaxed);
  // The sink and this call's own reference go last; either may free the
  // other side.
  std::shared_ptr<StreamSink> sink = std::move(sink_);
  std::shared_ptr<ActionCall> keep = std::move(self_);
}

}  // namespace ssebridge::frontend

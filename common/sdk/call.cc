#include "common/sdk/call.h"

#include <utility>

#ifdef SSEBRIDGE_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace ssebridge::sdk::internal {

void Call::TsanRelease() {
#ifdef SSEBRIDGE_TSAN
  __tsan_release(this);
#endif
}

void Call::TsanAcquire() {
#ifdef SSEBRIDGE_TSAN
  __tsan_acquire(this);
#endif
}

struct Call::TsanCallback {
  explicit TsanCallback(Call* call) : call(call) { call->TsanAcquire(); }
  ~TsanCallback() { call->TsanRelease(); }
  Call* call;
};

std::shared_ptr<Call> Call::Create(size_t max_queued_events, bool accepts_batch,
                                   absl::Duration max_queue_delay) {
  auto call =
      std::make_shared<Call>(max_queued_events, accepts_batch, max_queue_delay);
  {
    std::lock_guard<std::mutex> lock(call->mu_);
    call->self_ = call;
  }
  call->TsanRelease();
  call->StartSendInitialMetadata();
  return call;
}

bool Call::RoomLocked() const {
  if (queue_.size() >= max_queued_) return false;
  // An empty queue always has room: the time bound never stops a stream.
  return max_queue_delay_ <= absl::ZeroDuration() || queued_at_.empty() ||
         absl::Now() - queued_at_.front() < max_queue_delay_;
}

bool Call::Push(ssebridge::action::v1::Event event, bool wait) {
  std::unique_lock<std::mutex> lock(mu_);
  auto closed = [this] { return cancelled_ || finish_requested_; };
  if (wait) {
    // Woken whenever the queue shrinks (a new front, a younger one).
    changed_.wait(lock, [&] { return closed() || RoomLocked(); });
  }
  if (closed() || !RoomLocked()) return false;
  if (max_queue_delay_ > absl::ZeroDuration()) {
    queued_at_.push_back(absl::Now());
  }
  queue_.push_back(std::move(event));
  Pump(lock);
  return true;
}

void Call::RequestFinish(grpc::Status status) {
  std::unique_lock<std::mutex> lock(mu_);
  if (finish_requested_ || cancelled_) return;
  finish_requested_ = true;
  finish_status_ = std::move(status);
  changed_.notify_all();  // blocked senders give up
  Pump(lock);
}

bool Call::Cancelled() {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

void Call::SetOnCancel(std::function<void()> callback) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!cancelled_) {
      on_cancel_ = std::move(callback);
      return;
    }
  }
  if (callback) callback();
}

void Call::Pump(std::unique_lock<std::mutex>& lock) {
  if (!ready_ || writing_ || finished_) return;
  if (!queue_.empty()) {
    writing_ = true;
    if (!accepts_batch_ || queue_.size() == 1) {
      in_flight_ = std::move(queue_.front());
      queue_.pop_front();
      if (!queued_at_.empty()) queued_at_.pop_front();
      changed_.notify_all();  // room (a younger front) for blocked senders
    } else {
      // What is queued now goes as one message: gRPC's cost is per message,
      // and these events would otherwise wait for one write each.
      in_flight_.Clear();
      size_t bytes = 0;
      while (!queue_.empty() &&
             static_cast<size_t>(in_flight_.batch_size()) < kMaxBatchEvents) {
        const size_t size = queue_.front().ByteSizeLong();
        if (in_flight_.batch_size() > 0 && bytes + size > kMaxBatchBytes) {
          break;
        }
        bytes += size;
        *in_flight_.add_batch() = std::move(queue_.front());
        queue_.pop_front();
        if (!queued_at_.empty()) queued_at_.pop_front();
      }
      changed_.notify_all();  // room for as many blocked senders
    }
    lock.unlock();
    TsanRelease();
    StartWrite(&in_flight_);
  } else if (finish_requested_ || cancelled_) {
    finished_ = true;
    grpc::Status status =
        cancelled_ ? grpc::Status::CANCELLED : std::move(finish_status_);
    lock.unlock();
    TsanRelease();
    Finish(std::move(status));
  }
}

std::function<void()> Call::MarkCancelled() {
  if (cancelled_) return nullptr;
  cancelled_ = true;
  queue_.clear();
  queued_at_.clear();
  changed_.notify_all();
  return std::exchange(on_cancel_, nullptr);
}

void Call::OnSendInitialMetadataDone(bool ok) {
  TsanCallback tsan(this);
  // A failure needs no handling here: it also shows up as OnCancel.
  std::unique_lock<std::mutex> lock(mu_);
  ready_ = true;
  Pump(lock);
}

void Call::OnWriteDone(bool ok) {
  TsanCallback tsan(this);
  std::function<void()> on_cancel;
  {
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) on_cancel = MarkCancelled();  // the client is gone
    Pump(lock);
  }
  if (on_cancel) on_cancel();
}

void Call::OnCancel() {
  TsanCallback tsan(this);
  std::function<void()> on_cancel;
  {
    std::unique_lock<std::mutex> lock(mu_);
    on_cancel = MarkCancelled();
    Pump(lock);
  }
  if (on_cancel) on_cancel();
}

void Call::OnDone() {
  TsanAcquire();
  std::shared_ptr<Call> self;  // destroyed last: may delete this
  std::lock_guard<std::mutex> lock(mu_);
  self = std::move(self_);
}

}  // namespace ssebridge::sdk::internal

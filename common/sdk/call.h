// Internal to the SDK: the gRPC callback reactor behind one ActionService.Run
// call, and the bounded event queue that Stream handles push to. Users see it
// only through Stream.
//
// Thread-safety: every public method may be called from any thread; all
// shared state is guarded by one std::mutex (TSan sees std::mutex, not the
// uninstrumented gRPC/Abseil locks, see DESIGN §10). Writes are chained one
// at a time: Push/RequestFinish start a write or the Finish only when none is
// in flight, OnWriteDone starts the next. Nothing but the initial metadata is
// started before OnSendInitialMetadataDone: by then gRPC has bound the
// reactor, so no write or Finish goes through gRPC's pre-bind backlog (which
// hands data between threads in a way TSan cannot follow). No lock is held
// while calling into gRPC or user callbacks.
//
// Lifetime: owned by shared_ptr. The call keeps a reference to itself from
// creation until gRPC's OnDone; each Stream handle holds another, so a handle
// outliving the call stays valid (Send just returns false).
#ifndef SSEBRIDGE_COMMON_SDK_CALL_H_
#define SSEBRIDGE_COMMON_SDK_CALL_H_

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/sdk/stream.h"
#include "ssebridge/action/v1/action.pb.h"

namespace ssebridge::sdk::internal {

class Call final
    : public grpc::ServerWriteReactor<ssebridge::action::v1::Event>,
      public std::enable_shared_from_this<Call> {
 public:
  // Creates a call and at once sends the initial metadata, so the frontend
  // learns the stream is up before the first event.
  // With `accepts_batch` (the request's), a write takes every event queued
  // by then (up to kMaxBatchEvents / kMaxBatchBytes) as one Event.batch
  // message; a lone event is written alone, at once.
  // `max_queue_delay` (> 0) also counts the queue as full once its oldest
  // event has waited that long.
  static std::shared_ptr<Call> Create(
      size_t max_queued_events, bool accepts_batch = false,
      absl::Duration max_queue_delay = absl::ZeroDuration());
  Call(size_t max_queued_events, bool accepts_batch,
       absl::Duration max_queue_delay)
      : max_queued_(max_queued_events),
        accepts_batch_(accepts_batch),
        max_queue_delay_(max_queue_delay) {}

  static constexpr size_t kMaxBatchEvents = 64;
  static constexpr size_t kMaxBatchBytes = 64 * 1024;

  Stream stream() { return Stream(shared_from_this()); }

  bool Push(ssebridge::action::v1::Event event, bool wait);
  void RequestFinish(grpc::Status status);
  bool Cancelled();
  void SetOnCancel(std::function<void()> callback);

 private:
  void OnSendInitialMetadataDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // With mu_ held: starts the next write, or the Finish once the queue is
  // drained and a finish is due. Releases the lock if it calls into gRPC.
  void Pump(std::unique_lock<std::mutex>& lock)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // With mu_ held: the client is gone. Returns the user's OnCancel callback
  // to run (after the lock is released), or null.
  std::function<void()> MarkCancelled() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // TSan cannot see the synchronisation inside Debian's uninstrumented gRPC:
  // tell it that gRPC hands the reactor over between our Start* and On*.
  void TsanRelease();
  void TsanAcquire();
  struct TsanCallback;  // acquire on entry to an On* callback, release on exit

  // With mu_ held: whether Push may add an event now.
  bool RoomLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_queued_;
  const bool accepts_batch_;
  const absl::Duration max_queue_delay_;
  std::mutex mu_;
  std::condition_variable changed_;  // queue shrank or the stream closed
  std::deque<ssebridge::action::v1::Event> queue_ ABSL_GUARDED_BY(mu_);
  // When queue_.front() was queued (kept only with a max_queue_delay).
  std::deque<absl::Time> queued_at_ ABSL_GUARDED_BY(mu_);
  bool ready_ ABSL_GUARDED_BY(mu_) = false;    // initial metadata is done
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // a StartWrite is in flight
  bool finish_requested_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // Finish was started
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> on_cancel_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Call> self_ ABSL_GUARDED_BY(mu_);  // until OnDone
  // The message being written: set under mu_ when a write starts, then owned
  // by gRPC until OnWriteDone.
  ssebridge::action::v1::Event in_flight_;
};

}  // namespace ssebridge::sdk::internal

#endif  // SSEBRIDGE_COMMON_SDK_CALL_H_

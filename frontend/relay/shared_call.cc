#include "frontend/relay/shared_call.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "frontend/relay/route_event.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace ssebridge::frontend {

using ::ssebridge::action::v1::ActionRequest;
using ::ssebridge::action::v1::Event;

SharedCall::SharedCall(SharedCalls* table, std::string key,
                       const SessionSettings* settings, FrontendStats* stats,
                       std::unique_ptr<EventRpc> rpc)
    : table_(table),
      key_(std::move(key)),
      settings_(settings),
      stats_(stats),
      rpc_(std::move(rpc)) {
  const ReplaySettings& replay = settings_->replay;
  if (replay.enabled()) {
    std::lock_guard<std::mutex> lock(mu_);
    ring_ = std::make_unique<ReplayRing>(
        ReplayRing::Bounds{.max_events = replay.max_events,
                           .max_age = replay.max_age,
                           .max_bytes = replay.max_bytes});
  }
}

SharedCall::AttachResult SharedCall::Attach(
    const std::shared_ptr<StreamSink>& sink, bool head_now,
    absl::string_view last_event_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ending_) return AttachResult::kEnding;
  // A stream closed before this point found no call to leave (its Leave ran
  // first): adding it would keep a dead subscriber. One closed after it
  // finds the call and leaves.
  if (sink->closed()) return AttachResult::kClosed;
  subscribers_.push_back(sink);
  linger_until_ = absl::InfiniteFuture();  // watched again
  if (started_ || head_now) sink->CommitHead();
  // Under mu_, like OnReadDone's append to the ring and delivery: the
  // backlog ends where this stream's live events begin.
  if (ring_ != nullptr) ReplayToLocked(*sink, last_event_id);
  return AttachResult::kAttached;
}

void SharedCall::ReplayToLocked(StreamSink& sink,
                                absl::string_view last_event_id) {
  const ReplaySettings& replay = settings_->replay;
  const absl::Time now = absl::Now();
  std::vector<absl::string_view> backlog;
  if (!last_event_id.empty()) {
    if (auto after = ring_->EventsAfter(last_event_id, now)) {
      backlog = std::move(*after);
    } else {
      // What it missed is gone (or was never here): it must resync.
      if (settings_->route_stats != nullptr) {
        settings_->route_stats->replay_resets.fetch_add(
            1, std::memory_order_relaxed);
      }
      if (sink.OnEncoded(replay.reset_bytes, 1) ==
          StreamSink::Verdict::kDrop) {
        return;
      }
    }
  } else if (replay.on_join > 0) {
    backlog = ring_->LastEvents(replay.on_join, now);
  }
  CountRingBytesLocked();  // the lookup evicted what had expired
  // A backlog may put the stream over high water (kPause): its loop then
  // resumes the call (a no-op, as it is reading) once it has drained, and
  // the next live event pauses the call if the stream is still behind.
  // kDrop: it is closed or ending and leaves (or the next delivery drops
  // it); it gets nothing more.
  for (absl::string_view bytes : backlog) {
    if (sink.OnEncoded(bytes, 1) == StreamSink::Verdict::kDrop) break;
  }
}

void SharedCall::CountRingBytesLocked() {
  const int64_t bytes =
      ring_ == nullptr ? 0 : static_cast<int64_t>(ring_->bytes());
  if (bytes == ring_bytes_counted_) return;
  if (settings_->route_stats != nullptr) {
    settings_->route_stats->replay_ring_bytes.fetch_add(
        bytes - ring_bytes_counted_, std::memory_order_relaxed);
  }
  ring_bytes_counted_ = bytes;
}

bool SharedCall::NobodyLeftLocked(absl::Time now) {
  if (ring_ != nullptr && !table_->shutting_down()) {
    // Reads on, so the ring stays current for a browser that comes back.
    linger_until_ = now + settings_->replay.linger;
    return false;
  }
  ending_ = true;
  return true;
}

bool SharedCall::LingerExpired(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  return !ending_ && subscribers_.empty() && now >= linger_until_;
}

void SharedCall::CancelIfIdle(absl::Time now, bool always) {
  bool unpause = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ending_) return;
    if (!always && !(subscribers_.empty() && now >= linger_until_)) return;
    ending_ = true;
    unpause = paused_;
    paused_ = false;
  }
  Cancel();
  // With no read outstanding the hold is all that keeps OnRpcDone away.
  if (unpause) rpc_->RemoveHold();
}

void SharedCall::Leave(const StreamSink* sink) {
  bool cancel = false;
  bool unpause = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find_if(subscribers_.begin(), subscribers_.end(),
                           [&](const auto& s) { return s.get() == sink; });
    if (it == subscribers_.end()) return;
    subscribers_.erase(it);
    if (subscribers_.empty() && !ending_) {
      cancel = NobodyLeftLocked(absl::Now());
    }
    // The stream we may have waited for is gone: read on (or, when
    // cancelling, let OnRpcDone come).
    unpause = paused_;
    paused_ = false;
  }
  if (cancel) Cancel();
  if (unpause) {
    if (!cancel) rpc_->Read(&event_);
    rpc_->RemoveHold();
  }
}

void SharedCall::Resume() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!paused_ || ending_) return;
    paused_ = false;
  }
  rpc_->Read(&event_);
  rpc_->RemoveHold();
}

void SharedCall::Cancel() {
  table_->Remove(key_, this);
  rpc_->Cancel();  // also fine before the call has started
}

void SharedCall::Start(const BackendPool::Pick& pick) {
  self_ = shared_from_this();
  calls_ = pick.calls;
  calls_->fetch_add(1, std::memory_order_relaxed);
  rpc_->Start(this, &event_);
}

void SharedCall::OnRpcHead() {
  std::lock_guard<std::mutex> lock(mu_);
  started_ = true;
  for (const auto& s : subscribers_) s->CommitHead();
}

void SharedCall::OnRpcRead(bool ok) {
  if (!ok) {  // OnRpcDone follows, unless a message could not be parsed
    read_ended_ns_.store(absl::ToUnixNanos(absl::Now()),
                         std::memory_order_relaxed);
    return;
  }
  // Encoded once for every subscriber; what the encoder rejects or what is
  // too large is dropped and counted, as on an unshared route.
  // A batch is encoded into one buffer and fanned out once; each of its
  // events with an id goes into the ring on its own.
  encoded_.clear();
  encoded_events_ = 0;
  ring_items_.clear();
  ForEachRouteEvent(event_, [&](const Event& e) {
    const size_t start = encoded_.size();
    if (!AppendRouteEvent(e, *settings_, stats_, encoded_)) return;
    ++encoded_events_;
    if (ring_ != nullptr && !e.id().empty()) {
      ring_items_.push_back({&e, start, encoded_.size() - start});
    }
  });
  const bool deliver = !encoded_.empty();
  bool cancel = false;
  bool pause = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = true;
    if (!ring_items_.empty()) {
      // Kept and delivered in one critical section (see Attach).
      const absl::Time now = absl::Now();
      for (const RingItem& item : ring_items_) {
        ring_->Append(
            item.event->id(),
            absl::string_view(encoded_).substr(item.offset, item.size), now);
      }
      CountRingBytesLocked();
    }
    if (deliver) {
      // A subscriber too slow for the call is dropped (it closes itself).
      auto slow = std::remove_if(subscribers_.begin(), subscribers_.end(),
                                 [&](const auto& sub) {
                                   switch (sub->OnEncoded(encoded_,
                                                          encoded_events_)) {
                                     case StreamSink::Verdict::kDrop:
                                       return true;
                                     case StreamSink::Verdict::kPause:
                                       pause = true;
                                       break;
                                     case StreamSink::Verdict::kKeep:
                                       break;
                                   }
                                   return false;
                                 });
      subscribers_.erase(slow, subscribers_.end());
    }
    if (subscribers_.empty()) {
      pause = false;
      if (!ending_ && linger_until_ == absl::InfiniteFuture()) {
        cancel = NobodyLeftLocked(absl::Now());  // the last was just dropped
      } else if (!ending_ && absl::Now() >= linger_until_) {
        cancel = ending_ = true;  // lingered long enough: no need to wait
      }
    } else if (pause && !ending_) {
      // The hold keeps OnRpcDone away while no read is outstanding; taken
      // before Resume() can see paused_.
      rpc_->AddHold();
      paused_ = true;
    } else {
      pause = false;
    }
  }
  if (cancel) {
    Cancel();
    return;
  }
  if (!pause) rpc_->Read(&event_);
}

bool SharedCall::CancelIfStuck(absl::Time now, absl::Duration after) {
  const int64_t ended = read_ended_ns_.load(std::memory_order_relaxed);
  if (ended == 0 || now - absl::FromUnixNanos(ended) <= after) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ending_ || unreadable_) return false;
    unreadable_ = true;
  }
  rpc_->Cancel();
  return true;
}

void SharedCall::OnRpcDone(const absl::Status& status) {
  std::vector<std::shared_ptr<StreamSink>> subscribers;
  absl::Status end = status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ending_ = true;
    subscribers.swap(subscribers_);
    if (unreadable_) end = absl::InternalError(kUnparsableUpstream);
    if (ring_ != nullptr) {
      ring_->Clear();  // nobody can attach any more
      CountRingBytesLocked();
    }
  }
  table_->Remove(key_, this);
  for (const auto& s : subscribers) s->EndUpstream(end);
  subscribers.clear();
  calls_->fetch_sub(1, std::memory_order_relaxed);
  // The table and settings belong to the server, which waits for this
  // count to reach zero before it goes: nothing of theirs is touched after.
  std::shared_ptr<SharedCall> keep = std::move(self_);
  // Release: the server's Shutdown() reads this with acquire before it
  // frees the table.
  stats_->shared_calls.fetch_sub(1, std::memory_order_release);
}

SharedCalls::SharedCalls(const SessionSettings* settings, FrontendStats* stats)
    : settings_(settings), stats_(stats) {
  if (settings_->replay.enabled()) {
    timer_ = std::thread([this] { RunLingerTimer(); });
  }
}

SharedCalls::~SharedCalls() { StopTimer(); }

void SharedCalls::StopTimer() {
  {
    std::lock_guard<std::mutex> lock(timer_mu_);
    timer_stop_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void SharedCalls::RunLingerTimer() {
  std::unique_lock<std::mutex> lock(timer_mu_);
  while (!timer_stop_) {
    timer_cv_.wait_for(lock, absl::ToChronoNanoseconds(kLingerCheckInterval),
                       [this] { return timer_stop_; });
    if (timer_stop_) break;
    lock.unlock();
    CancelIdle(absl::Now(), /*all=*/false);
    lock.lock();
  }
}

void SharedCalls::CancelIdle(absl::Time now, bool all) {
  std::vector<std::shared_ptr<SharedCall>> idle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, call] : calls_) {
      if (all || call->LingerExpired(now)) idle.push_back(call);
    }
  }
  // Without the table's mutex: cancelling takes the call out of the table.
  for (const auto& call : idle) call->CancelIfIdle(now, all);
}

void SharedCalls::Shutdown() {
  shutting_down_.store(true, std::memory_order_release);
  StopTimer();
  CancelIdle(absl::Now(), /*all=*/true);
}

std::string ActionRequestKey(const ActionRequest& request) {
  // Minus where each viewer is in the stream (Last-Event-ID, also when it
  // came as ?lastEventId=, which stays in the params) and its address.
  // Deterministic so that equal maps give equal bytes.
  std::string key;
  ActionRequest k = request;
  k.clear_last_event_id();
  k.mutable_params()->erase("lastEventId");
  k.mutable_headers()->erase("last-event-id");
  k.clear_remote_addr();
  google::protobuf::io::StringOutputStream out(&key);
  google::protobuf::io::CodedOutputStream coded(&out);
  coded.SetSerializationDeterministic(true);
  k.SerializeToCodedStream(&coded);
  return key;
}

std::string SharedCallKey(std::string request_key,
                          const CallMetadata& metadata) {
  std::string key = std::move(request_key);
  for (const auto& [name, value] : metadata) {
    key.push_back('\0');
    key.append(name);
    key.push_back('\0');
    key.append(value);
  }
  return key;
}

void SharedCalls::Join(const std::shared_ptr<StreamSink>& sink,
                       BackendPool* backend, std::string key,
                       absl::string_view last_event_id,
                       const EventRpcFactory& make_rpc) {
  std::shared_ptr<SharedCall> call;
  BackendPool::Pick pick{};
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(key);
    if (it != calls_.end()) {
      if (!sink->SetUpstream(it->second)) return;  // socket already closed
      if (it->second->Attach(sink, /*head_now=*/false, last_event_id) !=
          SharedCall::AttachResult::kEnding) {
        return;
      }
    }
    pick = backend->Next();
    call = std::make_shared<SharedCall>(this, key, settings_, stats_,
                                        make_rpc(pick));
    if (!sink->SetUpstream(call) ||
        call->Attach(sink,
                     pick.channel->GetState(true) == GRPC_CHANNEL_READY) ==
            SharedCall::AttachResult::kClosed) {
      return;  // never started, so nothing to cancel
    }
    stats_->shared_calls.fetch_add(1, std::memory_order_relaxed);
    calls_[key] = call;
  }
  call->Start(pick);
}

void SharedCalls::Remove(const std::string& key, const SharedCall* call) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(key);
  if (it != calls_.end() && it->second.get() == call) calls_.erase(it);
}

}  // namespace ssebridge::frontend

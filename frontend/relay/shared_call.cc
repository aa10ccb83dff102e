#include "frontend/relay/shared_call.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "frontend/relay/route_event.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace ssebridge::frontend {

using ::ssebridge::action::v1::ActionRequest;

SharedCall::SharedCall(SharedCalls* table, std::string key,
                       const SessionSettings* settings, FrontendStats* stats,
                       std::unique_ptr<EventRpc> rpc)
    : table_(table),
      key_(std::move(key)),
      settings_(settings),
      stats_(stats),
      rpc_(std::move(rpc)) {}

SharedCall::AttachResult SharedCall::Attach(
    const std::shared_ptr<StreamSink>& sink, bool head_now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ending_) return AttachResult::kEnding;
  // A stream closed before this point found no call to leave (its Leave ran
  // first): adding it would keep a dead subscriber. One closed after it
  // finds the call and leaves.
  if (sink->closed()) return AttachResult::kClosed;
  subscribers_.push_back(sink);
  if (started_ || head_now) sink->CommitHead();
  return AttachResult::kAttached;
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
    if (subscribers_.empty() && !ending_) cancel = ending_ = true;
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
  encoded_.clear();
  const bool deliver = AppendRouteEvent(event_, *settings_, stats_, encoded_);
  bool cancel = false;
  bool pause = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = true;
    if (deliver) {
      // A subscriber too slow for the call is dropped (it closes itself).
      auto slow = std::remove_if(subscribers_.begin(), subscribers_.end(),
                                 [&](const auto& sub) {
                                   switch (sub->OnEncoded(encoded_)) {
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
    if (subscribers_.empty() && !ending_) {
      cancel = ending_ = true;
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

std::string ActionRequestKey(const ActionRequest& request) {
  // Deterministic so that equal maps give equal bytes.
  std::string key;
  ActionRequest k = request;
  k.clear_last_event_id();
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
                       const EventRpcFactory& make_rpc) {
  std::shared_ptr<SharedCall> call;
  BackendPool::Pick pick{};
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(key);
    if (it != calls_.end()) {
      if (!sink->SetUpstream(it->second)) return;  // socket already closed
      if (it->second->Attach(sink, /*head_now=*/false) !=
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

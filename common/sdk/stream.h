// What an action handler gets: the Request (one HTTP request, as forwarded by
// the frontend) and the Stream it sends events on (one server-streaming
// ActionService.Run call).
//
// Thread-safety: Request is an immutable value, free to copy and read from
// any thread. Stream is a cheap copyable handle to the call's shared state;
// every method may be called from any thread at any time, also after the call
// has ended (Send then returns false), so a handle may be kept as long as
// needed, e.g. in a chat room's subscriber list.
#ifndef SSEBRIDGE_COMMON_SDK_STREAM_H_
#define SSEBRIDGE_COMMON_SDK_STREAM_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/sdk/builders.h"
#include "ssebridge/action/v1/action.pb.h"

namespace ssebridge::sdk {

namespace internal {
class Call;
}

// Who is asking. On routes with authentication the frontend verifies the
// browser's token and passes the identity as gRPC metadata on the call:
//   x-ssebridge-sub                 the token's verified subject ("sub")
//   x-ssebridge-claim-<claim name>  chosen claims (the route's
//                                   claims_to_metadata), e.g.
//                                   x-ssebridge-claim-name
// and it removes every client-sent header that starts with "x-ssebridge-"
// (and x-user) before forwarding. Subject(), Claim() and Authenticated() are
// therefore the only identity a service should trust. Never take a user
// from a param, a forwarded header or a cookie (`user=`, x-user, ...): the
// browser chooses those freely.
//
// A metadata key the call carried more than once is left out, so a
// duplicated identity key reads as anonymous, never as one of its values.
// Values of x-ssebridge-* keys arrive percent-encoded where they are not
// printable ASCII (gRPC metadata must be); Subject(), Claim(), Metadata()
// and metadata() give them decoded (UTF-8).
class Request {
 public:
  using MetadataMap = std::map<std::string, std::string>;
  using MetadataList = std::vector<std::pair<std::string, std::string>>;

  // A request without metadata (anonymous).
  explicit Request(ssebridge::action::v1::ActionRequest proto);
  // A request with the call's client metadata entries (the server passes
  // grpc::ServerContext::client_metadata(); tests pass e.g.
  // {{"x-ssebridge-sub", "kim"}}). Keys are lower-cased (gRPC already
  // delivers them so); a key present more than once is left out.
  Request(ssebridge::action::v1::ActionRequest proto, MetadataList metadata);

  const std::string& action() const { return data_->proto.action(); }
  // A query / form field, or `default_value` when absent.
  std::string Param(absl::string_view name,
                    absl::string_view default_value = "") const;
  const google::protobuf::Map<std::string, std::string>& params() const {
    return data_->proto.params();
  }
  // An allow-listed request header (the name is matched case-insensitively),
  // "" when absent. Not an identity: see above.
  std::string Header(absl::string_view name) const;
  // From Last-Event-ID (or ?lastEventId=): where a reconnecting browser left
  // off, "" on a first connect. The service decides what to replay.
  const std::string& last_event_id() const {
    return data_->proto.last_event_id();
  }
  const std::string& path() const { return data_->proto.path(); }
  const std::string& method() const { return data_->proto.method(); }
  const std::string& remote_addr() const { return data_->proto.remote_addr(); }
  const ssebridge::action::v1::ActionRequest& proto() const {
    return data_->proto;
  }

  // The verified subject (metadata x-ssebridge-sub), "" when the request is
  // anonymous.
  const std::string& Subject() const { return data_->subject; }
  // True when the frontend verified who is asking (Subject() is not empty).
  bool Authenticated() const { return !data_->subject.empty(); }
  // A verified claim the route passes on (metadata
  // x-ssebridge-claim-<lower-cased name>), "" when absent. Claim("name").
  std::string Claim(absl::string_view name) const;
  // Any metadata value of the call (the key is matched case-insensitively),
  // "" when absent.
  std::string Metadata(absl::string_view key) const;
  // Every metadata entry of the call (lower-case keys).
  const MetadataMap& metadata() const { return data_->metadata; }

 private:
  struct Data {
    ssebridge::action::v1::ActionRequest proto;
    MetadataMap metadata;
    std::string subject;
  };
  std::shared_ptr<const Data> data_;
};

// The metadata keys the frontend sets (see Request).
inline constexpr absl::string_view kSubjectMetadataKey = "x-ssebridge-sub";
inline constexpr absl::string_view kClaimMetadataPrefix = "x-ssebridge-claim-";

class Stream {
 public:
  // Sends one event: text (const char*, std::string), Html, Escaped, Json,
  // Event or a raw ssebridge::action::v1::Event (see ToEvent). Events go out
  // in the order Send is called. Blocks while the stream's queue is full (the
  // client reads slower than we send). Returns false once the event can no
  // longer be delivered: the client went away, the call was cancelled, or
  // Finish was called.
  // Never block a gRPC thread: inside an AsyncAction handler or an OnCancel
  // callback use TrySend. Fan-out to many streams should use TrySend too, so
  // one slow client cannot stall the others.
  template <typename T>
  bool Send(T&& item) {
    return Push(ToEvent(std::forward<T>(item)), /*wait=*/true);
  }
  // Like Send, but returns false at once instead of waiting when the queue is
  // full (the event is dropped).
  template <typename T>
  bool TrySend(T&& item) {
    return Push(ToEvent(std::forward<T>(item)), /*wait=*/false);
  }

  // Ends the call with `status` once every queued event has been written.
  // OK makes the frontend send the route's terminal event (e.g. "done"); an
  // error becomes an SSE error event. Only the first call counts.
  void Finish(absl::Status status = absl::OkStatus());

  // True once the client has gone away (or the call was cancelled).
  bool Cancelled() const;
  // Runs `callback` once when the client goes away, e.g. the browser left;
  // at once (on this thread) if it already has. Runs on a gRPC thread: keep
  // it short and non-blocking. A later OnCancel replaces an earlier one.
  void OnCancel(std::function<void()> callback);

 private:
  friend class internal::Call;
  explicit Stream(std::shared_ptr<internal::Call> call)
      : call_(std::move(call)) {}
  bool Push(ssebridge::action::v1::Event event, bool wait);

  std::shared_ptr<internal::Call> call_;
};

// A sleep for blocking handlers (like the seed's Process.sleep) that ends
// early when the stream's client goes away. Installs the
// stream's OnCancel callback (so use one per call, and no other OnCancel).
class CancellableSleep {
 public:
  explicit CancellableSleep(Stream& stream)
      : state_(std::make_shared<State>()) {
    stream.OnCancel([state = state_] {
      std::lock_guard<std::mutex> lock(state->mu);
      state->cancelled = true;
      state->cv.notify_all();
    });
  }
  // Waits `duration`; false if the client went away (before or meanwhile).
  bool Sleep(absl::Duration duration) {
    std::unique_lock<std::mutex> lock(state_->mu);
    return !state_->cv.wait_for(lock, absl::ToChronoNanoseconds(duration),
                                [&] { return state_->cancelled; });
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool cancelled = false;
  };
  std::shared_ptr<State> state_;
};

}  // namespace ssebridge::sdk

#endif  // SSEBRIDGE_COMMON_SDK_STREAM_H_

// EventRpc: one server-streaming gRPC call seen as a sequence of
// ssebridge.action.v1.Event messages, whatever method it calls. The two
// Upstreams (a stream's own ActionCall, a route's SharedCall) run the
// relay's logic (pause, resume, leave, cancel when stuck, end) over this
// interface, so every kind of upstream method gets the same behaviour:
// - MakeActionRpc: ActionService.Run, whose messages are Events;
// - MakeMethodRpc (method_rpc.h): any server-streaming method through
//   gRPC's generic API, each response message turned into an Event by the
//   route's MethodCodec.
//
// Protocol: the owner calls Start once, with its handler and the first read
// target. OnRpcRead(true) means the target holds the next event; the owner
// then calls Read for the next one, or takes a hold and reads later.
// OnRpcRead(false): no more events (OnRpcDone follows, unless the call is
// stuck, see Upstream::CancelIfStuck). OnRpcDone comes last and once, after
// every read and hold is over; the owner may destroy the EventRpc in it.
//
// Thread-safety: gRPC's reactor rules. Read only with no read outstanding;
// AddHold/RemoveHold and Cancel from any thread (Cancel also before Start).
// The handler's callbacks run on gRPC's threads, one at a time. Each
// implementation tells ThreadSanitizer about the hand-over between an
// operation and its callback (common/tsan/annotations.h).
#ifndef SSEBRIDGE_FRONTEND_RELAY_EVENT_RPC_H_
#define SSEBRIDGE_FRONTEND_RELAY_EVENT_RPC_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "frontend/upstream/backend_pool.h"
#include "ssebridge/action/v1/action.grpc.pb.h"

namespace ssebridge::frontend {

// gRPC metadata (lower-case keys) sent with a call.
using CallMetadata = std::vector<std::pair<std::string, std::string>>;

class EventRpc {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // The backend answered (initial metadata arrived).
    virtual void OnRpcHead() = 0;
    // A read finished: `ok` with an event in the target, else the end.
    virtual void OnRpcRead(bool ok) = 0;
    // The call ended with `status` (OK: the method finished).
    virtual void OnRpcDone(const absl::Status& status) = 0;
  };

  virtual ~EventRpc() = default;

  // Starts the call with its first read into `target`.
  virtual void Start(Handler* handler,
                     ssebridge::action::v1::Event* target) = 0;
  // The next read, into `target`.
  virtual void Read(ssebridge::action::v1::Event* target) = 0;
  // A hold keeps OnRpcDone away while no read is outstanding.
  virtual void AddHold() = 0;
  virtual void RemoveHold() = 0;
  // TryCancel on the call's context.
  virtual void Cancel() = 0;
};

// Makes the call for a picked channel; given once per upstream call (a
// shared call makes it for its first subscriber only).
using EventRpcFactory =
    std::function<std::unique_ptr<EventRpc>(const BackendPool::Pick& pick)>;

// ActionService.Run(`request`) on the pick's stub, with `metadata`.
std::unique_ptr<EventRpc> MakeActionRpc(
    const BackendPool::Pick& pick, ssebridge::action::v1::ActionRequest request,
    const CallMetadata& metadata);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_EVENT_RPC_H_

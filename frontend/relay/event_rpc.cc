#include "frontend/relay/event_rpc.h"

#include <grpcpp/grpcpp.h>

#include "common/status/grpc_status.h"
#include "common/tsan/annotations.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::action::v1::ActionRequest;
using ::ssebridge::action::v1::Event;

// ActionService.Run as a ClientReadReactor: gRPC parses each message into
// the owner's Event itself.
class ActionRpc final : public EventRpc,
                        public grpc::ClientReadReactor<Event> {
 public:
  ActionRpc(ssebridge::action::v1::ActionService::Stub* stub,
            ActionRequest request, const CallMetadata& metadata)
      : stub_(stub), request_(std::move(request)) {
    for (const auto& [k, v] : metadata) ctx_.AddMetadata(k, v);
  }

  void Start(Handler* handler, Event* target) override {
    handler_ = handler;
    stub_->async()->Run(&ctx_, &request_, this);
    SSEBRIDGE_TSAN_RELEASE(this);
    StartRead(target);
    StartCall();
  }
  void Read(Event* target) override {
    SSEBRIDGE_TSAN_RELEASE(this);
    StartRead(target);
  }
  void AddHold() override { grpc::ClientReadReactor<Event>::AddHold(); }
  void RemoveHold() override {
    SSEBRIDGE_TSAN_RELEASE(this);
    grpc::ClientReadReactor<Event>::RemoveHold();
  }
  void Cancel() override {
    SSEBRIDGE_TSAN_RELEASE(this);
    ctx_.TryCancel();
  }

  void OnReadInitialMetadataDone(bool ok) override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    if (ok) handler_->OnRpcHead();
    SSEBRIDGE_TSAN_RELEASE(this);
  }
  void OnReadDone(bool ok) override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    handler_->OnRpcRead(ok);
    SSEBRIDGE_TSAN_RELEASE(this);
  }
  void OnDone(const grpc::Status& status) override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    handler_->OnRpcDone(common::ToAbslStatus(status));  // may free this
  }

 private:
  ssebridge::action::v1::ActionService::Stub* const stub_;
  grpc::ClientContext ctx_;
  const ActionRequest request_;
  Handler* handler_ = nullptr;
};

}  // namespace

std::unique_ptr<EventRpc> MakeActionRpc(const BackendPool::Pick& pick,
                                        ActionRequest request,
                                        const CallMetadata& metadata) {
  return std::make_unique<ActionRpc>(pick.stub, std::move(request), metadata);
}

}  // namespace ssebridge::frontend

#include "frontend/relay/method_rpc.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <utility>
#include <vector>

#include "common/status/grpc_status.h"
#include "common/tsan/annotations.h"
#include "frontend/relay/session_settings.h"
#include "spdlog/spdlog.h"

namespace ssebridge::frontend {
namespace {

using ::ssebridge::action::v1::Event;

class MethodRpc final
    : public EventRpc,
      public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  MethodRpc(grpc::GenericStub* stub, std::shared_ptr<const MethodCodec> codec,
            std::string request, const CallMetadata& metadata)
      : stub_(stub), codec_(std::move(codec)) {
    grpc::Slice slice(std::move(request));
    request_ = grpc::ByteBuffer(&slice, 1);
    for (const auto& [k, v] : metadata) ctx_.AddMetadata(k, v);
  }

  void Start(Handler* handler, Event* target) override {
    handler_ = handler;
    target_ = target;
    stub_->PrepareBidiStreamingCall(&ctx_, codec_->path(), grpc::StubOptions(),
                                    this);
    SSEBRIDGE_TSAN_RELEASE(this);
    // The request and the half-close in one write: a server-streaming
    // method reads exactly one message.
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  void Read(Event* target) override {
    target_ = target;
    SSEBRIDGE_TSAN_RELEASE(this);
    StartRead(&response_);
  }
  void AddHold() override { Bidi::AddHold(); }
  void RemoveHold() override {
    SSEBRIDGE_TSAN_RELEASE(this);
    Bidi::RemoveHold();
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
  void OnWriteDone(bool /*ok*/) override {}  // a failed write fails the call
  void OnReadDone(bool ok) override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    if (ok && !Decode()) {
      // Not a message of the method's response type: the stream is over
      // for us; the cancelled call ends as INTERNAL (OnDone).
      unparsable_ = true;
      ctx_.TryCancel();
      ok = false;
    }
    handler_->OnRpcRead(ok);
    SSEBRIDGE_TSAN_RELEASE(this);
  }
  void OnDone(const grpc::Status& status) override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    handler_->OnRpcDone(unparsable_
                            ? absl::InternalError(kUnparsableUpstream)
                            : common::ToAbslStatus(status));  // may free this
  }

 private:
  using Bidi = grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>;

  // The response just read, into *target_.
  bool Decode() {
    bytes_.clear();
    std::vector<grpc::Slice> slices;
    if (!response_.Dump(&slices).ok()) return false;
    for (const grpc::Slice& s : slices) {
      bytes_.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    response_.Clear();
    absl::Status s = codec_->ToEvent(bytes_, *target_);
    if (!s.ok()) {
      spdlog::warn("{}: a response does not parse: {}", codec_->path(),
                   std::string(s.message()));
    }
    return s.ok();
  }

  grpc::GenericStub* const stub_;
  const std::shared_ptr<const MethodCodec> codec_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  // gRPC side only (reactions on reads are serialised).
  grpc::ByteBuffer response_;
  std::string bytes_;
  Event* target_ = nullptr;
  Handler* handler_ = nullptr;
  bool unparsable_ = false;
};

}  // namespace

std::unique_ptr<EventRpc> MakeMethodRpc(const BackendPool::Pick& pick,
                                        std::shared_ptr<const MethodCodec> codec,
                                        std::string request,
                                        const CallMetadata& metadata) {
  return std::make_unique<MethodRpc>(pick.generic, std::move(codec),
                                     std::move(request), metadata);
}

}  // namespace ssebridge::frontend

#include "common/sdk/stream.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "common/sdk/call.h"
#include "common/status/grpc_status.h"

namespace ssebridge::sdk {

Request::Request(ssebridge::action::v1::ActionRequest proto)
    : proto_(std::make_shared<const ssebridge::action::v1::ActionRequest>(
          std::move(proto))) {}

std::string Request::Param(absl::string_view name,
                           absl::string_view default_value) const {
  auto it = proto_->params().find(std::string(name));
  return it == proto_->params().end() ? std::string(default_value) : it->second;
}

std::string Request::Header(absl::string_view name) const {
  auto it = proto_->headers().find(absl::AsciiStrToLower(name));
  return it == proto_->headers().end() ? "" : it->second;
}

bool Stream::Push(ssebridge::action::v1::Event event, bool wait) {
  return call_->Push(std::move(event), wait);
}

void Stream::Finish(absl::Status status) {
  call_->RequestFinish(common::ToGrpcStatus(status));
}

bool Stream::Cancelled() const { return call_->Cancelled(); }

void Stream::OnCancel(std::function<void()> callback) {
  call_->SetOnCancel(std::move(callback));
}

}  // namespace ssebridge::sdk

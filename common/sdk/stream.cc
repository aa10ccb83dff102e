#include "common/sdk/stream.h"

#include <set>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/sdk/call.h"
#include "common/status/grpc_status.h"

namespace ssebridge::sdk {

Request::Request(ssebridge::action::v1::ActionRequest proto)
    : Request(std::move(proto), MetadataList()) {}

namespace {

// The frontend percent-encodes identity values that are not printable ASCII
// (gRPC metadata must be): "Jos%C3%A9" -> "José". A '%' not followed by two
// hex digits is kept as it is.
std::string PercentDecode(absl::string_view v) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size() && hex(v[i + 1]) >= 0 &&
        hex(v[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(v[i + 1]) * 16 + hex(v[i + 2])));
      i += 2;
    } else {
      out.push_back(v[i]);
    }
  }
  return out;
}

}  // namespace

Request::Request(ssebridge::action::v1::ActionRequest proto,
                 MetadataList metadata) {
  auto data = std::make_shared<Data>();
  data->proto = std::move(proto);
  std::set<std::string> repeated;
  for (auto& [key, value] : metadata) {
    std::string lower = absl::AsciiStrToLower(key);
    if (absl::StartsWith(lower, "x-ssebridge-")) value = PercentDecode(value);
    if (!data->metadata.try_emplace(lower, std::move(value)).second) {
      repeated.insert(std::move(lower));
    }
  }
  // Which of two identities would be the right one? Neither.
  for (const std::string& key : repeated) data->metadata.erase(key);
  auto sub = data->metadata.find(std::string(kSubjectMetadataKey));
  if (sub != data->metadata.end()) data->subject = sub->second;
  data_ = std::move(data);
}

std::string Request::Param(absl::string_view name,
                           absl::string_view default_value) const {
  auto it = data_->proto.params().find(std::string(name));
  return it == data_->proto.params().end() ? std::string(default_value)
                                           : it->second;
}

std::string Request::Header(absl::string_view name) const {
  auto it = data_->proto.headers().find(absl::AsciiStrToLower(name));
  return it == data_->proto.headers().end() ? "" : it->second;
}

std::string Request::Claim(absl::string_view name) const {
  return Metadata(absl::StrCat(kClaimMetadataPrefix, name));
}

std::string Request::Metadata(absl::string_view key) const {
  auto it = data_->metadata.find(absl::AsciiStrToLower(key));
  return it == data_->metadata.end() ? "" : it->second;
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

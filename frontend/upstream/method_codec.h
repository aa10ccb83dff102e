// MethodCodec: one server-streaming gRPC method known only by descriptors
// (a DescriptorSource), as a `grpc` route uses it. It builds the request
// message from an HTTP request's parameters, JSON body and Last-Event-ID
// with protobuf's proto3 JSON mapping, and turns each response message into
// an ssebridge.action.v1.Event (its JSON as data, the values of the route's
// event_field and id_field as name and id), so that the relay treats it
// like an event from ActionService.Run.
//
// Thread-safety: immutable after Create; every method is const and may be
// called from any thread (the descriptor pool, the type resolver and the
// dynamic message prototypes are thread-safe for reading).
#ifndef SSEBRIDGE_FRONTEND_UPSTREAM_METHOD_CODEC_H_
#define SSEBRIDGE_FRONTEND_UPSTREAM_METHOD_CODEC_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "frontend/upstream/descriptor_source.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "ssebridge/action/v1/action.pb.h"
#include "ssebridge/config/v1/config.pb.h"

namespace ssebridge::frontend {

class MethodCodec {
 public:
  // Looks `config.method()` up in `source` and checks the field paths.
  // Errors are InvalidArgument "<key>: <problem>" with the key relative to
  // the route's `grpc` block, e.g. "method: grpc.health.v1.Health/Watchh not
  // found in descriptor_set x.pb" or "event_field: ...".
  static absl::StatusOr<std::unique_ptr<const MethodCodec>> Create(
      std::shared_ptr<const DescriptorSource> source,
      const ssebridge::config::v1::GrpcMethod& config);

  // "/package.Service/Method", the name gRPC's generic API calls.
  const std::string& path() const { return path_; }
  const google::protobuf::MethodDescriptor* method() const { return method_; }

  struct Request {
    std::string bytes;  // the serialized request message
    // The request without the resume field, serialized deterministically:
    // equal for every viewer of the same data (shared routes' key).
    std::string share_key;
  };
  // Builds the request from `params` (percent-decoded query string and form
  // fields, each naming a top-level field), `json_body` (a JSON object, or
  // empty) and `last_event_id` (put into resume_field, if the route has
  // one). A parameter replaces what the body set for its field.
  // InvalidArgument messages name the field and are meant for the client
  // (400).
  absl::StatusOr<Request> BuildRequest(
      const std::vector<std::pair<std::string, std::string>>& params,
      absl::string_view json_body, absl::string_view last_event_id) const;

  // One response message (its wire bytes) as an Event: `raw` holds its
  // proto3 JSON, `event` and `id` the values of event_field and id_field.
  // An error means the bytes are not a message of the response type.
  absl::Status ToEvent(const std::string& bytes,
                       ssebridge::action::v1::Event& event) const;

  MethodCodec(const MethodCodec&) = delete;
  MethodCodec& operator=(const MethodCodec&) = delete;

 private:
  using FieldPath = std::vector<const google::protobuf::FieldDescriptor*>;
  explicit MethodCodec(std::shared_ptr<const DescriptorSource> source);
  // Merges `json` (an object) into `message`; errors carry protobuf's text.
  absl::Status MergeJson(absl::string_view json,
                         google::protobuf::Message& message) const;

  const std::shared_ptr<const DescriptorSource> source_;
  std::string path_;
  const google::protobuf::MethodDescriptor* method_ = nullptr;
  std::string request_url_;
  std::string response_url_;
  google::protobuf::DynamicMessageFactory factory_;
  const google::protobuf::Message* request_prototype_ = nullptr;
  const google::protobuf::Message* response_prototype_ = nullptr;
  FieldPath event_path_;
  FieldPath id_path_;
  FieldPath resume_path_;
  google::protobuf::util::JsonPrintOptions print_options_;
  google::protobuf::util::JsonParseOptions parse_options_;
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_UPSTREAM_METHOD_CODEC_H_

#include "frontend/upstream/method_codec.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace ssebridge::frontend {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;
using ::ssebridge::action::v1::Event;

// The field of `type` called `name` by its proto name or its JSON name.
const FieldDescriptor* FindField(const Descriptor* type,
                                 absl::string_view name) {
  if (const FieldDescriptor* f = type->FindFieldByName(std::string(name))) {
    return f;
  }
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == name) return type->field(i);
  }
  return nullptr;
}

// What a path's last field may be.
enum class Leaf { kNameOrId, kResume };

absl::StatusOr<std::vector<const FieldDescriptor*>> ResolvePath(
    const Descriptor* type, absl::string_view path, Leaf leaf) {
  std::vector<const FieldDescriptor*> out;
  const Descriptor* at = type;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (at == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(out.back()->full_name(), " is not a message, so \"",
                       part, "\" cannot be looked up in it"));
    }
    const FieldDescriptor* f = FindField(at, part);
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("no field \"", part, "\" in ", at->full_name()));
    }
    if (f->is_repeated()) {
      return absl::InvalidArgumentError(absl::StrCat(
          f->full_name(), " is repeated; the path must name single fields"));
    }
    out.push_back(f);
    at = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ? f->message_type()
                                                           : nullptr;
  }
  const FieldDescriptor* last = out.back();
  switch (last->cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return absl::InvalidArgumentError(
          absl::StrCat(last->full_name(), " is a message; name a field in it"));
    case FieldDescriptor::CPPTYPE_STRING:
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      break;
    default:
      if (leaf == Leaf::kResume) {
        return absl::InvalidArgumentError(
            absl::StrCat(last->full_name(),
                         " must be a string or integer field to take a "
                         "Last-Event-ID"));
      }
  }
  return out;
}

// The value at `path` in `message` as text: enums by value name, the
// rest as their usual decimal or string form.
std::string FieldText(const Message& message,
                      const std::vector<const FieldDescriptor*>& path) {
  const Message* m = &message;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    m = &m->GetReflection()->GetMessage(*m, path[i]);
  }
  const FieldDescriptor* f = path.back();
  const Reflection* r = m->GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return r->GetString(*m, f);
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(r->GetInt32(*m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(r->GetInt64(*m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(r->GetUInt32(*m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(r->GetUInt64(*m, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return r->GetBool(*m, f) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(r->GetDouble(*m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(r->GetFloat(*m, f));
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int n = r->GetEnumValue(*m, f);
      const auto* v = f->enum_type()->FindValueByNumber(n);
      return v != nullptr ? v->name() : absl::StrCat(n);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out.append(buf);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

bool IsJsonNumber(absl::string_view s) {
  double unused;
  return !s.empty() && (absl::ascii_isdigit(s[0]) || s[0] == '-') &&
         absl::SimpleAtod(s, &unused);
}

// A query or form value as the JSON value the proto3 JSON mapping expects
// for field `f`: quoted text for strings, bytes (base64), numbers (the
// mapping takes quoted numbers, which keeps 64-bit values exact), enum
// names and well-known types written as strings (Timestamp, Duration);
// numbers for enum numbers; literals for bools; the value itself when it
// is JSON for a message, map or list; a single plain value for a list.
std::string ParamJson(const FieldDescriptor* f, absl::string_view v) {
  const bool is_object = absl::StartsWith(v, "{");
  const bool is_array = absl::StartsWith(v, "[");
  if (f->is_map()) return std::string(v);
  if (f->is_repeated() && is_array) return std::string(v);
  std::string one;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      one = v == "true" || v == "false" ? std::string(v) : JsonQuote(v);
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      one = IsJsonNumber(v) ? std::string(v) : JsonQuote(v);
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      // JSON for messages; well-known types with a scalar JSON form
      // (wrappers, Value) take literals and numbers as they are.
      one = is_object || is_array || v == "true" || v == "false" ||
                    v == "null" || IsJsonNumber(v)
                ? std::string(v)
                : JsonQuote(v);
      break;
    default:
      one = JsonQuote(v);
  }
  return f->is_repeated() ? absl::StrCat("[", one, "]") : one;
}

std::string SerializeDeterministic(const Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

}  // namespace

MethodCodec::MethodCodec(std::shared_ptr<const DescriptorSource> source)
    : source_(std::move(source)), factory_(source_->pool()) {}

absl::StatusOr<std::unique_ptr<const MethodCodec>> MethodCodec::Create(
    std::shared_ptr<const DescriptorSource> source,
    const ssebridge::config::v1::GrpcMethod& config) {
  std::unique_ptr<MethodCodec> codec(new MethodCodec(std::move(source)));
  const DescriptorSource& src = *codec->source_;
  absl::string_view name = config.method();
  if (absl::StartsWith(name, "/")) name.remove_prefix(1);
  const size_t slash = name.rfind('/');
  if (slash == absl::string_view::npos || slash == 0 ||
      slash + 1 == name.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("method: expected \"package.Service/Method\", got \"",
                     config.method(), "\""));
  }
  const std::string service_name(name.substr(0, slash));
  const std::string method_name(name.substr(slash + 1));
  const auto* service = src.pool()->FindServiceByName(service_name);
  if (service == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("method: ", name, " not found in ", src.what(),
                     " (no service ", service_name, ")"));
  }
  const auto* method = service->FindMethodByName(method_name);
  if (method == nullptr) {
    std::vector<std::string> has;
    for (int i = 0; i < service->method_count(); ++i) {
      has.push_back(service->method(i)->name());
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "method: ", name, " not found in ", src.what(), " (", service_name,
        " has ", absl::StrJoin(has, ", "), ")"));
  }
  if (!method->server_streaming() || method->client_streaming()) {
    const char* kind = method->client_streaming()
                           ? (method->server_streaming()
                                  ? "bidirectional-streaming"
                                  : "client-streaming")
                           : "unary";
    return absl::InvalidArgumentError(
        absl::StrCat("method: ", name, " is ", kind,
                     "; a route needs a server-streaming method"));
  }
  codec->method_ = method;
  codec->path_ = absl::StrCat("/", service_name, "/", method_name);
  codec->request_url_ =
      DescriptorSource::TypeUrl(method->input_type()->full_name());
  codec->response_url_ =
      DescriptorSource::TypeUrl(method->output_type()->full_name());
  codec->request_prototype_ =
      codec->factory_.GetPrototype(method->input_type());
  codec->response_prototype_ =
      codec->factory_.GetPrototype(method->output_type());
  struct PathKey {
    const char* key;
    const std::string& path;
    const Descriptor* type;
    Leaf leaf;
    FieldPath* out;
  };
  for (const PathKey& p : {
           PathKey{"event_field", config.event_field(), method->output_type(),
                   Leaf::kNameOrId, &codec->event_path_},
           PathKey{"id_field", config.id_field(), method->output_type(),
                   Leaf::kNameOrId, &codec->id_path_},
           PathKey{"resume_field", config.resume_field(), method->input_type(),
                   Leaf::kResume, &codec->resume_path_},
       }) {
    if (p.path.empty()) continue;
    absl::StatusOr<FieldPath> path = ResolvePath(p.type, p.path, p.leaf);
    if (!path.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(p.key, ": ", path.status().message()));
    }
    *p.out = *std::move(path);
  }
  codec->print_options_.add_whitespace = false;
  codec->print_options_.preserve_proto_field_names =
      config.json().preserve_field_names();
  codec->print_options_.always_print_primitive_fields =
      config.json().emit_defaults();
  codec->parse_options_.ignore_unknown_fields = false;
  return std::unique_ptr<const MethodCodec>(std::move(codec));
}

absl::Status MethodCodec::MergeJson(absl::string_view json,
                                    Message& message) const {
  std::string binary;
  google::protobuf::util::Status s =
      google::protobuf::util::JsonToBinaryString(
          source_->resolver(), request_url_,
          google::protobuf::StringPiece(json.data(), json.size()), &binary,
          parse_options_);
  if (!s.ok()) {
    return absl::InvalidArgumentError(std::string(s.message()));
  }
  if (!message.MergeFromString(binary)) {
    return absl::InvalidArgumentError("the value does not fit the message");
  }
  return absl::OkStatus();
}

absl::StatusOr<MethodCodec::Request> MethodCodec::BuildRequest(
    const std::vector<std::pair<std::string, std::string>>& params,
    absl::string_view json_body, absl::string_view last_event_id) const {
  const Descriptor* type = method_->input_type();
  std::unique_ptr<Message> message(request_prototype_->New());
  if (!absl::StripAsciiWhitespace(json_body).empty()) {
    if (!absl::StartsWith(absl::StripLeadingAsciiWhitespace(json_body), "{")) {
      return absl::InvalidArgumentError("bad JSON body: expected an object");
    }
    if (absl::Status s = MergeJson(json_body, *message); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad JSON body: ", s.message()));
    }
  }
  for (const auto& [name, value] : params) {
    const FieldDescriptor* f = FindField(type, name);
    if (f == nullptr) {
      // ?lastEventId= is the Last-Event-ID (already taken), unless the
      // message has a field of that name.
      if (name == "lastEventId") continue;
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field \"", name, "\" (", type->full_name(),
                       " has no such field)"));
    }
    message->GetReflection()->ClearField(message.get(), f);
    const std::string json =
        absl::StrCat("{", JsonQuote(f->name()), ":", ParamJson(f, value), "}");
    if (absl::Status s = MergeJson(json, *message); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("field \"", name, "\": ", s.message()));
    }
  }
  Request out;
  out.share_key = SerializeDeterministic(*message);
  if (!resume_path_.empty() && !last_event_id.empty()) {
    Message* m = message.get();
    for (size_t i = 0; i + 1 < resume_path_.size(); ++i) {
      m = m->GetReflection()->MutableMessage(m, resume_path_[i]);
    }
    const FieldDescriptor* f = resume_path_.back();
    const Reflection* r = m->GetReflection();
    const std::string id(last_event_id);
    bool ok = true;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(m, f, id);
        break;
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t v;
        ok = absl::SimpleAtoi(id, &v);
        if (ok) r->SetInt32(m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t v;
        ok = absl::SimpleAtoi(id, &v);
        if (ok) r->SetInt64(m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t v;
        ok = absl::SimpleAtoi(id, &v);
        if (ok) r->SetUInt32(m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v;
        ok = absl::SimpleAtoi(id, &v);
        if (ok) r->SetUInt64(m, f, v);
        break;
      }
      default:
        ok = false;
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("Last-Event-ID must be an integer for ",
                       f->full_name()));
    }
  }
  out.bytes = SerializeDeterministic(*message);
  return out;
}

absl::Status MethodCodec::ToEvent(const std::string& bytes,
                                  Event& event) const {
  event.Clear();
  google::protobuf::util::Status s =
      google::protobuf::util::BinaryToJsonString(
          source_->resolver(), response_url_, bytes, event.mutable_raw(),
          print_options_);
  if (!s.ok()) {
    return absl::InternalError(std::string(s.message()));
  }
  if (event_path_.empty() && id_path_.empty()) return absl::OkStatus();
  std::unique_ptr<Message> message(response_prototype_->New());
  if (!message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InternalError("the message does not parse");
  }
  if (!event_path_.empty()) event.set_event(FieldText(*message, event_path_));
  if (!id_path_.empty()) event.set_id(FieldText(*message, id_path_));
  return absl::OkStatus();
}

}  // namespace ssebridge::frontend

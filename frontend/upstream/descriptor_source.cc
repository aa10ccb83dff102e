#include "frontend/upstream/descriptor_source.h"

#include <grpcpp/generic/generic_stub.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/grpc_status.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/type_resolver_util.h"

namespace ssebridge::frontend {
namespace {

using ::google::protobuf::FileDescriptorProto;
using ::google::protobuf::UnknownField;
using ::google::protobuf::UnknownFieldSet;

constexpr char kReflectionMethod[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
// Field numbers of grpc/reflection/v1alpha/reflection.proto (the messages
// are read and written as plain wire format; see the file comment).
constexpr int kRequestFileByFilename = 3;
constexpr int kRequestFileContainingSymbol = 4;
constexpr int kResponseFileDescriptorResponse = 4;
constexpr int kFileDescriptorProtoBytes = 1;  // in FileDescriptorResponse
// Rounds of "ask for the imports we still lack": servers send a file's
// imports along with it, so one round is usual.
constexpr int kMaxReflectionRounds = 16;

std::string BufferToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

// One ServerReflectionInfo stream: writes every request, half-closes, and
// collects the responses until the server ends the stream. Deletes itself
// in OnDone after handing the outcome to the waiting caller.
class ReflectionExchange
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  struct Outcome {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    std::vector<std::string> responses;
  };

  // Runs the exchange to its end and returns the responses.
  static absl::StatusOr<std::vector<std::string>> Run(
      const std::shared_ptr<grpc::Channel>& channel,
      std::vector<std::string> requests, absl::Time deadline) {
    auto outcome = std::make_shared<Outcome>();
    auto* call = new ReflectionExchange(outcome, std::move(requests));
    call->ctx_.set_deadline(absl::ToChronoTime(deadline));
    call->ctx_.set_wait_for_ready(true);
    grpc::GenericStub stub(channel);
    stub.PrepareBidiStreamingCall(&call->ctx_, kReflectionMethod,
                                  grpc::StubOptions(), call);
    call->NextWrite();
    call->StartRead(&call->in_);
    call->StartCall();
    std::unique_lock<std::mutex> lock(outcome->mu);
    outcome->cv.wait(lock, [&] { return outcome->done; });
    if (!outcome->status.ok()) {
      return common::ToAbslStatus(outcome->status);
    }
    return std::move(outcome->responses);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return;  // the call is failing; OnDone says why
    ++next_;
    NextWrite();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    responses_.push_back(BufferToString(in_));
    StartRead(&in_);
  }

  void OnDone(const grpc::Status& status) override {
    {
      std::lock_guard<std::mutex> lock(outcome_->mu);
      outcome_->status = status;
      outcome_->responses = std::move(responses_);
      outcome_->done = true;
    }
    outcome_->cv.notify_all();
    delete this;
  }

 private:
  ReflectionExchange(std::shared_ptr<Outcome> outcome,
                     std::vector<std::string> requests)
      : outcome_(std::move(outcome)), requests_(std::move(requests)) {}

  void NextWrite() {
    if (next_ >= requests_.size()) {
      StartWritesDone();
      return;
    }
    grpc::Slice slice(requests_[next_]);
    out_ = grpc::ByteBuffer(&slice, 1);
    StartWrite(&out_);
  }

  const std::shared_ptr<Outcome> outcome_;
  grpc::ClientContext ctx_;
  // gRPC side only (reactions are serialised).
  std::vector<std::string> requests_;
  size_t next_ = 0;
  grpc::ByteBuffer out_;
  grpc::ByteBuffer in_;
  std::vector<std::string> responses_;
};

std::string ReflectionRequest(int field, const std::string& value) {
  UnknownFieldSet request;
  request.AddLengthDelimited(field, value);
  std::string out;
  request.SerializeToString(&out);
  return out;
}

class CollectFirstError
    : public google::protobuf::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const google::protobuf::Message* /*descriptor*/,
                ErrorLocation /*location*/,
                const std::string& message) override {
    if (first_.empty()) {
      first_ = absl::StrCat(filename, ": ", element_name, ": ", message);
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

}  // namespace

DescriptorSource::DescriptorSource(std::string what)
    : what_(std::move(what)), pool_(&database_) {}

std::string DescriptorSource::TypeUrl(const std::string& message_full_name) {
  return absl::StrCat("type.googleapis.com/", message_full_name);
}

bool DescriptorSource::AddFile(const std::string& serialized) {
  FileDescriptorProto file;
  if (!file.ParseFromString(serialized)) return false;
  FileDescriptorProto known;
  if (database_.FindFileByName(file.name(), &known)) return true;
  file_names_.push_back(file.name());
  return database_.Add(file);
}

absl::Status DescriptorSource::Finish() {
  for (const std::string& name : file_names_) {
    CollectFirstError errors;
    // A pool over a database reports nothing through a collector; build a
    // scratch copy with one to say what is wrong when a file fails.
    if (pool_.FindFileByName(name) == nullptr) {
      google::protobuf::DescriptorPool scratch(&database_, &errors);
      scratch.FindFileByName(name);
      return absl::InvalidArgumentError(absl::StrCat(
          what_, ": file ", name, " does not build",
          errors.first().empty() ? std::string()
                                 : absl::StrCat(" (", errors.first(), ")")));
    }
  }
  resolver_.reset(google::protobuf::util::NewTypeResolverForDescriptorPool(
      "type.googleapis.com", &pool_));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const DescriptorSource>>
DescriptorSource::FromFile(const std::string& path) {
  const std::string what = absl::StrCat("descriptor_set ", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read descriptor_set ", path));
  }
  std::stringstream bytes;
  bytes << in.rdbuf();
  google::protobuf::FileDescriptorSet set;
  if (!set.ParseFromString(bytes.str()) || set.file_size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is not a FileDescriptorSet (make it with protoc "
              "--include_imports --descriptor_set_out=FILE)"));
  }
  std::shared_ptr<DescriptorSource> source(new DescriptorSource(what));
  for (const FileDescriptorProto& f : set.file()) {
    if (!source->AddFile(f.SerializeAsString())) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": file ", f.name(), " appears twice, differently"));
    }
  }
  if (absl::Status s = source->Finish(); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(s.message(), "; was the set made with --include_imports?"));
  }
  return source;
}

absl::StatusOr<std::shared_ptr<const DescriptorSource>>
DescriptorSource::FromReflection(const std::shared_ptr<grpc::Channel>& channel,
                                 const std::vector<std::string>& symbols,
                                 absl::Time deadline, std::string what) {
  std::shared_ptr<DescriptorSource> source(
      new DescriptorSource(std::move(what)));
  std::vector<std::string> requests;
  for (const std::string& s : symbols) {
    requests.push_back(ReflectionRequest(kRequestFileContainingSymbol, s));
  }
  std::set<std::string> have;
  std::set<std::string> asked;
  for (int round = 0; !requests.empty(); ++round) {
    if (round == kMaxReflectionRounds) {
      return absl::InvalidArgumentError(absl::StrCat(
          source->what_, ": the imports did not resolve in ",
          kMaxReflectionRounds, " rounds of requests"));
    }
    absl::StatusOr<std::vector<std::string>> responses =
        ReflectionExchange::Run(channel, std::move(requests), deadline);
    requests.clear();
    if (!responses.ok()) {
      if (responses.status().code() == absl::StatusCode::kUnimplemented) {
        return absl::InvalidArgumentError(
            absl::StrCat(source->what_, ": the backend does not offer server "
                                        "reflection (UNIMPLEMENTED); give "
                                        "grpc.descriptor_set instead"));
      }
      return absl::UnavailableError(
          absl::StrCat(source->what_, ": ", responses.status().ToString()));
    }
    std::set<std::string> wanted;
    for (const std::string& r : *responses) {
      UnknownFieldSet response;
      if (!response.ParseFromString(r)) {
        return absl::InvalidArgumentError(
            absl::StrCat(source->what_, ": a response does not parse"));
      }
      for (int i = 0; i < response.field_count(); ++i) {
        const UnknownField& f = response.field(i);
        // Errors (NOT_FOUND for a symbol the server does not know) are
        // left to the method's lookup, which names the route.
        if (f.number() != kResponseFileDescriptorResponse ||
            f.type() != UnknownField::TYPE_LENGTH_DELIMITED) {
          continue;
        }
        UnknownFieldSet files;
        if (!files.ParseFromString(f.length_delimited())) continue;
        for (int j = 0; j < files.field_count(); ++j) {
          const UnknownField& file = files.field(j);
          if (file.number() != kFileDescriptorProtoBytes ||
              file.type() != UnknownField::TYPE_LENGTH_DELIMITED) {
            continue;
          }
          FileDescriptorProto proto;
          if (!proto.ParseFromString(file.length_delimited()) ||
              !source->AddFile(file.length_delimited())) {
            return absl::InvalidArgumentError(absl::StrCat(
                source->what_, ": a file descriptor does not parse"));
          }
          have.insert(proto.name());
          for (const std::string& dep : proto.dependency()) wanted.insert(dep);
        }
      }
    }
    for (const std::string& dep : wanted) {
      if (have.contains(dep) || !asked.insert(dep).second) continue;
      requests.push_back(ReflectionRequest(kRequestFileByFilename, dep));
    }
  }
  if (absl::Status s = source->Finish(); !s.ok()) return s;
  return source;
}

}  // namespace ssebridge::frontend

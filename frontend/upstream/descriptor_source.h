// DescriptorSource: where the descriptors of a `grpc` route's method come
// from, read once at start-up: a FileDescriptorSet file (protoc
// --include_imports --descriptor_set_out) or a backend's gRPC server
// reflection (grpc.reflection.v1alpha.ServerReflection, spoken here over the
// generic API: Debian ships the reflection server but neither its protos nor
// a client). It owns the DescriptorPool built from those files and the type
// resolver protobuf's JSON mapping reads them through.
//
// Thread-safety: immutable once made; pool() and resolver() may be used from
// any thread (DescriptorPool lookups are thread-safe, and so is the
// resolver, which only looks types up in the pool).
#ifndef SSEBRIDGE_FRONTEND_UPSTREAM_DESCRIPTOR_SOURCE_H_
#define SSEBRIDGE_FRONTEND_UPSTREAM_DESCRIPTOR_SOURCE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/util/type_resolver.h"

namespace ssebridge::frontend {

class DescriptorSource {
 public:
  // Reads a serialized FileDescriptorSet. Errors name the file and say
  // what is wrong with it (missing, not a descriptor set, a file that
  // imports one the set lacks).
  static absl::StatusOr<std::shared_ptr<const DescriptorSource>> FromFile(
      const std::string& path);

  // Asks the reflection service on `channel` for the files that define
  // each of `symbols` (fully-qualified service names) and, transitively,
  // everything they import, waiting until `deadline` for the backend.
  // A symbol the server does not know is not an error here (the method's
  // lookup then reports it); a server without reflection (UNIMPLEMENTED),
  // one that cannot be reached, or a file that does not parse is.
  // `what` names the source in later messages, e.g. "server reflection of
  // backend quotes".
  static absl::StatusOr<std::shared_ptr<const DescriptorSource>>
  FromReflection(const std::shared_ptr<grpc::Channel>& channel,
                 const std::vector<std::string>& symbols, absl::Time deadline,
                 std::string what);

  const google::protobuf::DescriptorPool* pool() const { return &pool_; }
  google::protobuf::util::TypeResolver* resolver() const {
    return resolver_.get();
  }
  // "descriptor_set FILE" or what FromReflection was given.
  const std::string& what() const { return what_; }

  // The type URL under which resolver() finds `message_full_name`.
  static std::string TypeUrl(const std::string& message_full_name);

  DescriptorSource(const DescriptorSource&) = delete;
  DescriptorSource& operator=(const DescriptorSource&) = delete;

 private:
  explicit DescriptorSource(std::string what);
  // Adds a serialized FileDescriptorProto; false if it does not parse.
  bool AddFile(const std::string& serialized);
  // Builds every file (so that broken or incomplete sets fail at start-up,
  // not at the first request) and makes the resolver.
  absl::Status Finish();

  const std::string what_;
  std::vector<std::string> file_names_;
  google::protobuf::SimpleDescriptorDatabase database_;
  google::protobuf::DescriptorPool pool_;
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver_;
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_UPSTREAM_DESCRIPTOR_SOURCE_H_

#include "tests/services/service_test_util.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "frontend/config/config_loader.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace ssebridge::testing {

namespace v1 = ::ssebridge::action::v1;

std::unique_ptr<sdk::RunningServer> StartService(
    const sdk::ActionServer& server) {
  absl::StatusOr<std::unique_ptr<sdk::RunningServer>> running =
      server.Start("127.0.0.1:0");
  if (!running.ok()) {
    ADD_FAILURE() << "service did not start: " << running.status();
    return nullptr;
  }
  return *std::move(running);
}

std::unique_ptr<frontend::FrontendServer> StartFrontend(
    absl::string_view yaml) {
  absl::StatusOr<ssebridge::config::v1::FrontendConfig> config =
      frontend::ParseConfigYaml(yaml, "test.yaml");
  if (!config.ok()) {
    ADD_FAILURE() << config.status() << "\n" << yaml;
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<frontend::FrontendServer>> server =
      frontend::FrontendServer::Create(*config);
  if (!server.ok()) {
    ADD_FAILURE() << server.status();
    return nullptr;
  }
  if (absl::Status started = (*server)->Start(); !started.ok()) {
    ADD_FAILURE() << started;
    return nullptr;
  }
  return *std::move(server);
}

std::string FrontendYaml(absl::string_view backend, int port,
                         absl::string_view routes) {
  return absl::StrCat(R"(
listen:
  address: 127.0.0.1
  port: 0
backends:
  - name: )",
                      backend, R"(
    target: 127.0.0.1:)",
                      port, R"(
routes:
)",
                      routes, R"(
logging:
  level: warn
)");
}

CallResult RunCall(int port, const v1::ActionRequest& request,
                   const CallMetadata& metadata) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::ActionService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  auto reader = stub->Run(&context, request);
  CallResult result;
  v1::Event event;
  while (reader->Read(&event)) result.events.push_back(event);
  result.status = reader->Finish();
  return result;
}

CallMetadata SignedIn(
    absl::string_view subject,
    const std::vector<std::pair<std::string, std::string>>& claims) {
  CallMetadata metadata = {
      {std::string(sdk::kSubjectMetadataKey), std::string(subject)}};
  for (const auto& [name, value] : claims) {
    metadata.emplace_back(
        absl::StrCat(sdk::kClaimMetadataPrefix, absl::AsciiStrToLower(name)),
        value);
  }
  return metadata;
}

v1::ActionRequest MakeRequest(
    absl::string_view action,
    const std::vector<std::pair<std::string, std::string>>& params) {
  v1::ActionRequest request;
  request.set_action(std::string(action));
  for (const auto& [name, value] : params) {
    (*request.mutable_params())[name] = value;
  }
  return request;
}

bool ReadEvents(SseClient& client, size_t n, absl::Duration timeout) {
  return client.ReadUntil([&] { return client.events().size() >= n; }, timeout);
}

size_t CountEvents(const SseClient& client, absl::string_view type) {
  size_t n = 0;
  for (const auto& e : client.events()) n += e.type == type ? 1 : 0;
  return n;
}

absl::StatusOr<google::protobuf::Value> ParseJson(absl::string_view json) {
  google::protobuf::Value value;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &value);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad JSON: ", std::string(status.message()), ": ", json));
  }
  return value;
}

double NumberAt(const google::protobuf::Value& value, absl::string_view path) {
  const google::protobuf::Value* v = &value;
  for (absl::string_view key : absl::StrSplit(path, '.')) {
    if (!v->has_struct_value()) return std::nan("");
    auto it = v->struct_value().fields().find(std::string(key));
    if (it == v->struct_value().fields().end()) return std::nan("");
    v = &it->second;
  }
  return v->has_number_value() ? v->number_value() : std::nan("");
}

}  // namespace ssebridge::testing

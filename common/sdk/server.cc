#include "common/sdk/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <pthread.h>
#include <signal.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/sdk/call.h"
#include "spdlog/spdlog.h"
#include "ssebridge/action/v1/action.grpc.pb.h"

namespace ssebridge::sdk {
namespace internal {

namespace v1 = ::ssebridge::action::v1;

struct RegisteredAction {
  std::string name;
  ActionServer::Handler handler;
  bool blocking;
};

// Runs a handler; a throwing handler finishes its call with INTERNAL.
void RunHandler(const RegisteredAction& action, Request request,
                Stream stream) {
  std::string error;
  try {
    action.handler(std::move(request), stream);
    return;
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown exception";
  }
  spdlog::error("action \"{}\" threw: {}", action.name, error);
  stream.Finish(absl::InternalError(
      absl::StrCat("action \"", action.name, "\" failed: ", error)));
}

// Action handlers still running on their threads, so that Shutdown can wait
// for them. Shared with the threads: one that outlives a timed-out wait
// still has it.
class HandlerThreads {
 public:
  void Begin() {
    std::lock_guard<std::mutex> lock(mu_);
    ++running_;
  }
  void End() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--running_ == 0) idle_.notify_all();
  }
  // The number still running after waiting up to `timeout` for none.
  int WaitIdle(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                   [&] { return running_ == 0; });
    return running_;
  }

 private:
  // std::mutex rather than absl::Mutex: TSan sees through libstdc++'s
  // pthread calls, not through Debian's uninstrumented Abseil.
  std::mutex mu_;
  std::condition_variable idle_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
};

class Service final : public v1::ActionService::CallbackService {
 public:
  using Actions =
      std::map<std::string, std::shared_ptr<const RegisteredAction>>;
  Service(Actions actions, size_t max_queued_events,
          absl::Duration max_queue_delay,
          std::shared_ptr<HandlerThreads> threads)
      : actions_(std::move(actions)),
        max_queued_(max_queued_events),
        max_queue_delay_(max_queue_delay),
        threads_(std::move(threads)) {}

  grpc::ServerWriteReactor<v1::Event>* Run(
      grpc::CallbackServerContext* context,
      const v1::ActionRequest* proto) override {
    std::shared_ptr<Call> call =
        Call::Create(max_queued_, proto->accepts_batch(), max_queue_delay_);
    Stream stream = call->stream();
    auto it = actions_.find(proto->action());
    if (it == actions_.end()) {
      std::vector<std::string> names;
      for (const auto& [name, action] : actions_) names.push_back(name);
      stream.Finish(absl::UnimplementedError(
          absl::StrCat("unknown action \"", proto->action(),
                       "\"; this service has: ", absl::StrJoin(names, ", "))));
      return call.get();
    }
    std::shared_ptr<const RegisteredAction> action = it->second;
    Request::MetadataList metadata;
    metadata.reserve(context->client_metadata().size());
    for (const auto& [key, value] : context->client_metadata()) {
      metadata.emplace_back(std::string(key.data(), key.size()),
                            std::string(value.data(), value.size()));
    }
    Request request(*proto, std::move(metadata));
    if (!action->blocking) {
      RunHandler(*action, std::move(request), std::move(stream));
      return call.get();
    }
    threads_->Begin();
    try {
      std::thread([action, request = std::move(request), stream,
                   threads = threads_]() mutable {
        RunHandler(*action, std::move(request), stream);
        stream.Finish();  // no-op if the handler finished the call
        threads->End();
      }).detach();
    } catch (const std::system_error& e) {  // out of threads
      threads_->End();
      stream.Finish(absl::ResourceExhaustedError(absl::StrCat(
          "no thread for action \"", action->name, "\": ", e.what())));
    }
    return call.get();
  }

 private:
  const Actions actions_;
  const size_t max_queued_;
  const absl::Duration max_queue_delay_;
  const std::shared_ptr<HandlerThreads> threads_;
};

}  // namespace internal

ActionServer::ActionServer(ServerOptions options)
    : options_(std::move(options)) {}

ActionServer& ActionServer::Action(std::string name, Handler handler) {
  return Add(std::move(name), std::move(handler), /*blocking=*/true);
}

ActionServer& ActionServer::AsyncAction(std::string name, Handler handler) {
  return Add(std::move(name), std::move(handler), /*blocking=*/false);
}

ActionServer& ActionServer::Add(std::string name, Handler handler,
                                bool blocking) {
  auto action = std::make_shared<const internal::RegisteredAction>(
      internal::RegisteredAction{name, std::move(handler), blocking});
  actions_[std::move(name)] = std::move(action);
  return *this;
}

absl::StatusOr<std::unique_ptr<RunningServer>> ActionServer::Start(
    const std::string& address) const {
  static std::once_flag once;
  std::call_once(once, [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  });
  std::unique_ptr<RunningServer> running(new RunningServer());
  running->handler_threads_ = std::make_shared<internal::HandlerThreads>();
  running->service_ = std::make_unique<internal::Service>(
      actions_, options_.max_queued_events, options_.max_queue_delay,
      running->handler_threads_);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address,
                           options_.credentials
                               ? options_.credentials
                               : grpc::InsecureServerCredentials(),
                           &running->port_);
  builder.RegisterService(running->service_.get());
  // gRPC sets SO_REUSEPORT by default: a second server on a busy port would
  // silently share it instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (options_.configure) options_.configure(builder);
  running->server_ = builder.BuildAndStart();
  if (running->server_ == nullptr || running->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on \"", address, "\""));
  }
  running->server_->GetHealthCheckService()->SetServingStatus(
      ssebridge::action::v1::ActionService::service_full_name(), true);
  return running;
}

absl::Status ActionServer::Serve(const std::string& address,
                                 absl::Duration grace) const {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // gRPC's threads inherit it
  absl::StatusOr<std::unique_ptr<RunningServer>> running = Start(address);
  if (!running.ok()) return running.status();
  spdlog::info("serving {} action(s) on port {}", actions_.size(),
               (*running)->port());
  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("signal {}: shutting down", signal);
  (*running)->Shutdown(grace);
  return absl::OkStatus();
}

RunningServer::~RunningServer() {
  if (server_ != nullptr) Shutdown();
}

void RunningServer::Shutdown(absl::Duration grace) {
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  // Every call is over, so every Send fails and every CancellableSleep has
  // woken: handlers finish at once unless they block on something else.
  if (int left = handler_threads_->WaitIdle(kHandlerWait); left > 0) {
    spdlog::warn("shutdown: {} action handler(s) still running after {}", left,
                 absl::FormatDuration(kHandlerWait));
  }
}

void RunningServer::Wait() { server_->Wait(); }

}  // namespace ssebridge::sdk

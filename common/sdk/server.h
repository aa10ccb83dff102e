// ActionServer: register named actions, then serve them as the gRPC
// ActionService (with grpc.health.v1 health checking and server reflection).
//
//   ssebridge::sdk::ActionServer server;
//   server.Action("chat_send", [](Request req, Stream stream) {
//     stream.Send("Bot is thinking...");
//     stream.Send(Html("<p>Reply to ", Escape(req.Param("message")), "</p>"));
//   });  // returning finishes the call with OK
//   return server.Serve("0.0.0.0:50051").ok() ? 0 : 1;   // until SIGTERM
//
// Two handler styles, both `void(Request, Stream)`:
//  - Action: the handler runs on its own new thread and may block (sleep,
//    do I/O, call other services). When it returns, the call finishes with
//    OK unless it already called Finish. One thread per open call.
//  - AsyncAction: the handler runs on a gRPC thread and must return quickly
//    without blocking; it keeps the Stream (e.g. in a subscriber list) and
//    sends on it later from any thread. The call stays open until Finish or
//    the client goes away. No thread per call: for thousands of idle streams.
// A handler that throws finishes the call with INTERNAL (the process lives
// on); an unknown action name gets UNIMPLEMENTED.
//
// Thread-safety: register actions before Start; Start may then be called
// from any thread (each RunningServer takes a snapshot of the actions).
// RunningServer's methods are thread-safe.
#ifndef SSEBRIDGE_COMMON_SDK_SERVER_H_
#define SSEBRIDGE_COMMON_SDK_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sdk/stream.h"

namespace ssebridge::sdk {

struct ServerOptions {
  // Events a Stream holds before Send blocks and TrySend fails.
  size_t max_queued_events = 1024;
  // Also full once the oldest queued event has waited this long (0: no time
  // bound). For a producer that can outrun its client and cares how stale
  // an event is on arrival: what it sends then waits at most about this
  // long here instead of up to max_queued_events. TrySend fails sooner, so
  // a service that treats a failed TrySend as "client too slow" should
  // leave it off or set it well above the delays it tolerates.
  absl::Duration max_queue_delay = absl::ZeroDuration();
  // Listening credentials; null = plaintext (the frontend's default).
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Optional last word on the gRPC server settings (keepalive, limits...).
  // The SDK turns SO_REUSEPORT off (GRPC_ARG_ALLOW_REUSEPORT = 0), so a busy
  // port makes Start fail; set it back to 1 here to share a port.
  std::function<void(grpc::ServerBuilder&)> configure;
};

class RunningServer;
namespace internal {
struct RegisteredAction;
class HandlerThreads;
}  // namespace internal

class ActionServer {
 public:
  using Handler = std::function<void(Request, Stream)>;

  explicit ActionServer(ServerOptions options = {});

  // A blocking handler on its own thread per call (see above).
  ActionServer& Action(std::string name, Handler handler);
  // A handler that returns at once and sends later (see above).
  ActionServer& AsyncAction(std::string name, Handler handler);

  // Listens on `address` ("127.0.0.1:0" picks a free port, see port()).
  absl::StatusOr<std::unique_ptr<RunningServer>> Start(
      const std::string& address) const;

  // Start, then block until SIGINT or SIGTERM, then Shutdown(grace). Blocks
  // those signals in the calling thread and so in every thread started after
  // it: call it from main() before other threads exist.
  absl::Status Serve(const std::string& address,
                     absl::Duration grace = absl::Seconds(5)) const;

 private:
  ActionServer& Add(std::string name, Handler handler, bool blocking);

  ServerOptions options_;
  std::map<std::string, std::shared_ptr<const internal::RegisteredAction>>
      actions_;
};

class RunningServer {
 public:
  ~RunningServer();  // Shutdown()

  int port() const { return port_; }
  // Stops taking calls and reports NOT_SERVING; open calls get `grace` to
  // finish, then are cancelled (their Streams' OnCancel callbacks run).
  // Returns when every call is done and every Action handler has returned
  // (their Send fails from then on), so what handlers use may be destroyed
  // after it; a handler still blocked after kHandlerWait is logged and left.
  // Idempotent.
  void Shutdown(absl::Duration grace = absl::ZeroDuration());
  // Blocks until Shutdown.
  void Wait();
  grpc::Server& grpc_server() { return *server_; }

 private:
  friend class ActionServer;
  RunningServer() = default;

  static constexpr absl::Duration kHandlerWait = absl::Seconds(5);

  std::shared_ptr<internal::HandlerThreads> handler_threads_;
  std::unique_ptr<grpc::Service> service_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace ssebridge::sdk

#endif  // SSEBRIDGE_COMMON_SDK_SERVER_H_

// End-to-end tests of the SDK: an in-process ActionServer on 127.0.0.1:0 and
// a real gRPC client (ActionService::Stub). Every wait is bounded: client
// calls carry deadlines, cross-thread waits use Counter::WaitFor.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/sdk/call.h"
#include "common/sdk/sdk.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "ssebridge/action/v1/action.grpc.pb.h"

namespace ssebridge::sdk {
namespace {

namespace v1 = ::ssebridge::action::v1;
using std::chrono::seconds;

constexpr auto kWait = seconds(20);  // generous bound for every wait

// A counter other threads can wait on, with a bound.
class Counter {
 public:
  void Add(int n = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    count_ += n;
    cv_.notify_all();
  }
  int Get() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  bool WaitFor(int at_least, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= at_least; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

int ThreadCount() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++n;
  }
  return n;
}

v1::Event Proto(const std::string& text_proto) {
  v1::Event e;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text_proto, &e))
      << text_proto;
  return e;
}

::testing::AssertionResult Same(const v1::Event& got, const std::string& want) {
  if (google::protobuf::util::MessageDifferencer::Equals(got, Proto(want))) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got: " << got.ShortDebugString() << "\nwant: " << want;
}

// (Designated initializers would do, but g++ 12 -Wextra warns about the
// members they leave out.)
ServerOptions QueueLimit(size_t max_queued_events) {
  ServerOptions options;
  options.max_queued_events = max_queued_events;
  return options;
}

struct Result {
  std::vector<v1::Event> events;
  grpc::Status status;
};

class ServerTest : public ::testing::Test {
 protected:
  void Start(const ActionServer& server) {
    auto running = server.Start("127.0.0.1:0");
    ASSERT_TRUE(running.ok()) << running.status();
    running_ = *std::move(running);
    ASSERT_GT(running_->port(), 0);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", running_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::ActionService::NewStub(channel_);
  }

  static v1::ActionRequest Req(const std::string& action) {
    v1::ActionRequest request;
    request.set_action(action);
    return request;
  }

  // A stub whose channel has a fixed 64 KiB window (no BDP probing to grow
  // it): a larger first event cannot be written until the client reads.
  std::unique_ptr<v1::ActionService::Stub> FixedWindowStub() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
    return v1::ActionService::NewStub(
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", running_->port()),
                                  grpc::InsecureChannelCredentials(), args));
  }

  // Runs one call to the end.
  Result Run(const v1::ActionRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kWait);
    auto reader = stub_->Run(&context, request);
    Result result;
    v1::Event event;
    while (reader->Read(&event)) result.events.push_back(event);
    result.status = reader->Finish();
    return result;
  }
  Result Run(const std::string& action) { return Run(Req(action)); }

  std::unique_ptr<RunningServer> running_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ActionService::Stub> stub_;
};

TEST_F(ServerTest, EveryPayloadArrivesExactlyAndInOrder) {
  ActionServer server;
  server.Action("chat_send", [](Request req, Stream stream) {
    stream.Send("Bot is thinking...");
    stream.Send(Html("<div class='p-2'>Reply to ", Escape(req.Param("message")),
                     "</div>"));
    stream.Send(Json{{"event", "update"}, {"count", 3}});
    stream.Send(Event::Named("update").Html("<li>x</li>").Id("7"));
    v1::Event raw;
    raw.set_raw("r");
    stream.Send(raw);
    for (int i = 0; i < 100; ++i) stream.Send(Event().Id(absl::StrCat(i)));
  });  // returns without Finish: finishes OK
  Start(server);
  v1::ActionRequest request = Req("chat_send");
  (*request.mutable_params())["message"] = "<hi>";
  Result result = Run(request);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.events.size(), 105u);
  EXPECT_TRUE(Same(result.events[0], R"pb(text: "Bot is thinking...")pb"));
  EXPECT_TRUE(
      Same(result.events[1],
           R"pb(html: "<div class='p-2'>Reply to &lt;hi&gt;</div>")pb"));
  EXPECT_TRUE(Same(result.events[2], R"pb(
    event: "update"
    json {
      struct_value {
        fields {
          key: "count"
          value { number_value: 3 }
        }
      }
    }
  )pb"));
  EXPECT_TRUE(Same(result.events[3], R"pb(event: "update"
                                          html: "<li>x</li>"
                                          id: "7")pb"));
  EXPECT_TRUE(Same(result.events[4], R"pb(raw: "r")pb"));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(result.events[5 + i].id(), absl::StrCat(i));
  }
}

TEST_F(ServerTest, RequestCarriesEveryField) {
  ActionServer server;
  server.Action("echo", [](Request req, Stream stream) {
    stream.Send(Json{{"action", req.action()},
                     {"message", req.Param("message")},
                     {"missing", req.Param("missing", "dflt")},
                     {"cookie", req.Header("Cookie")},
                     {"absent", req.Header("x-absent")},
                     {"last_event_id", req.last_event_id()},
                     {"path", req.path()},
                     {"method", req.method()},
                     {"remote_addr", req.remote_addr()},
                     {"params", static_cast<int>(req.params().size())}});
  });
  Start(server);
  v1::ActionRequest request = Req("echo");
  (*request.mutable_params())["message"] = "hi";
  (*request.mutable_headers())["cookie"] = "c=1";
  request.set_last_event_id("41");
  request.set_path("/api/echo");
  request.set_method("GET");
  request.set_remote_addr("10.0.0.1:5000");
  Result result = Run(request);
  ASSERT_TRUE(result.status.ok());
  ASSERT_EQ(result.events.size(), 1u);
  const auto& f = result.events[0].json().struct_value().fields();
  EXPECT_EQ(f.at("action").string_value(), "echo");
  EXPECT_EQ(f.at("message").string_value(), "hi");
  EXPECT_EQ(f.at("missing").string_value(), "dflt");
  EXPECT_EQ(f.at("cookie").string_value(), "c=1");
  EXPECT_EQ(f.at("absent").string_value(), "");
  EXPECT_EQ(f.at("last_event_id").string_value(), "41");
  EXPECT_EQ(f.at("path").string_value(), "/api/echo");
  EXPECT_EQ(f.at("method").string_value(), "GET");
  EXPECT_EQ(f.at("remote_addr").string_value(), "10.0.0.1:5000");
  EXPECT_EQ(f.at("params").number_value(), 1);
}

// Sends what the handler read of who is asking, as JSON, and finishes (fit
// for Action and AsyncAction).
void EchoIdentity(Request req, Stream stream) {
  stream.TrySend(Json{{"subject", req.Subject()},
                      {"authenticated", req.Authenticated()},
                      {"name", req.Claim("Name")},
                      {"email", req.Claim("email")},
                      {"absent", req.Claim("absent")},
                      {"trace", req.Metadata("X-Trace")},
                      {"x_user", req.Header("x-user")}});
  stream.Finish();
}

// Runs `request` with `metadata` and returns the fields EchoIdentity sent.
std::map<std::string, std::string> Identity(
    v1::ActionService::Stub& stub, const v1::ActionRequest& request,
    const std::vector<std::pair<std::string, std::string>>& metadata) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWait);
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  auto reader = stub.Run(&context, request);
  std::map<std::string, std::string> fields;
  v1::Event event;
  while (reader->Read(&event)) {
    for (const auto& [key, value] : event.json().struct_value().fields()) {
      fields[key] = value.has_bool_value()
                        ? (value.bool_value() ? "true" : "false")
                        : value.string_value();
    }
  }
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return fields;
}

TEST_F(ServerTest, HandlerSeesTheCallersMetadataAsIdentity) {
  ActionServer server;
  server.Action("who", EchoIdentity).AsyncAction("who_async", EchoIdentity);
  Start(server);
  for (const char* action : {"who", "who_async"}) {
    SCOPED_TRACE(action);
    auto signed_in = Identity(*stub_, Req(action),
                              {{"x-ssebridge-sub", "user-17"},
                               {"x-ssebridge-claim-name", "Kim Lee"},
                               {"x-ssebridge-claim-email", "kim@example.com"},
                               {"x-trace", "t1"}});
    EXPECT_EQ(signed_in["subject"], "user-17");
    EXPECT_EQ(signed_in["authenticated"], "true");
    EXPECT_EQ(signed_in["name"], "Kim Lee");  // Claim lower-cases the name
    EXPECT_EQ(signed_in["email"], "kim@example.com");
    EXPECT_EQ(signed_in["absent"], "");
    EXPECT_EQ(signed_in["trace"], "t1");

    // Anonymous: no metadata. A header naming a user changes nothing.
    v1::ActionRequest with_header = Req(action);
    (*with_header.mutable_headers())["x-user"] = "kim";
    auto anonymous = Identity(*stub_, with_header, {});
    EXPECT_EQ(anonymous["subject"], "");
    EXPECT_EQ(anonymous["authenticated"], "false");
    EXPECT_EQ(anonymous["name"], "");
    EXPECT_EQ(anonymous["trace"], "");
    EXPECT_EQ(anonymous["x_user"], "kim");

    // Two subjects on one call: neither counts.
    auto twice =
        Identity(*stub_, Req(action),
                 {{"x-ssebridge-sub", "kim"}, {"x-ssebridge-sub", "root"}});
    EXPECT_EQ(twice["subject"], "");
    EXPECT_EQ(twice["authenticated"], "false");
  }
}

TEST(RequestTest, MetadataConstructorAndDefaults) {
  v1::ActionRequest proto;
  proto.set_action("a");
  Request anonymous(proto);
  EXPECT_EQ(anonymous.action(), "a");
  EXPECT_EQ(anonymous.Subject(), "");
  EXPECT_FALSE(anonymous.Authenticated());
  EXPECT_EQ(anonymous.Claim("name"), "");
  EXPECT_TRUE(anonymous.metadata().empty());

  Request kim(proto, {{"X-SseBridge-Sub", "kim"},
                      {"x-ssebridge-claim-name", "Kim"},
                      {"x-dup", "1"},
                      {"X-Dup", "2"}});
  EXPECT_EQ(kim.Subject(), "kim");
  EXPECT_TRUE(kim.Authenticated());
  EXPECT_EQ(kim.Claim("NAME"), "Kim");
  EXPECT_EQ(kim.Metadata("x-ssebridge-sub"), "kim");
  EXPECT_EQ(kim.Metadata("x-dup"), "");  // repeated: left out
  EXPECT_EQ(kim.metadata().size(), 2u);
  Request copy = kim;  // cheap, shares the data
  EXPECT_EQ(&copy.Subject(), &kim.Subject());

  Request empty_sub(proto, {{"x-ssebridge-sub", ""}});
  EXPECT_FALSE(empty_sub.Authenticated());

  // The frontend percent-encodes what is not printable ASCII; identity keys
  // read decoded, others as sent.
  Request jose(proto, {{"x-ssebridge-sub", "jos%C3%A9"},
                       {"x-ssebridge-claim-name", "Jos%c3%a9 100%25 %zz %4"},
                       {"x-other", "a%41"}});
  EXPECT_EQ(jose.Subject(), "jos\xC3\xA9");
  EXPECT_EQ(jose.Claim("name"), "Jos\xC3\xA9 100% %zz %4");
  EXPECT_EQ(jose.Metadata("x-other"), "a%41");
}

TEST_F(ServerTest, FinishStatusReachesClientAfterQueuedEvents) {
  Counter send_after_finish_failed;
  ActionServer server;
  server.Action("members", [&](Request req, Stream stream) {
    for (int i = 0; i < 3; ++i) stream.Send(absl::StrCat(i));
    stream.Finish(absl::PermissionDeniedError("members only"));
    stream.Finish(absl::InternalError("ignored: only the first counts"));
    if (!stream.Send("too late")) send_after_finish_failed.Add();
  });
  Start(server);
  Result result = Run("members");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(result.status.error_message(), "members only");
  ASSERT_EQ(result.events.size(), 3u);
  EXPECT_EQ(result.events[2].text(), "2");
  EXPECT_TRUE(send_after_finish_failed.WaitFor(1));
}

TEST_F(ServerTest, UnknownActionIsUnimplemented) {
  ActionServer server;
  server.Action("a", [](Request, Stream) {})
      .AsyncAction("b", [](Request, Stream) {});
  Start(server);
  Result result = Run("nope");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(result.status.error_message(),
            "unknown action \"nope\"; this service has: a, b");
  EXPECT_TRUE(result.events.empty());
}

TEST_F(ServerTest, HandlerExceptionIsInternalAndServerLivesOn) {
  ActionServer server;
  server
      .Action("boom",
              [](Request, Stream stream) {
                stream.Send("before");
                throw std::runtime_error("kaput");
              })
      .AsyncAction("async_boom", [](Request, Stream) { throw 42; })
      .Action("ok", [](Request, Stream stream) { stream.Send("fine"); });
  Start(server);
  Result result = Run("boom");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(result.status.error_message(), "action \"boom\" failed: kaput");
  ASSERT_EQ(result.events.size(), 1u);
  result = Run("async_boom");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(result.status.error_message(),
            "action \"async_boom\" failed: unknown exception");
  result = Run("ok");
  EXPECT_TRUE(result.status.ok());
  ASSERT_EQ(result.events.size(), 1u);
}

TEST_F(ServerTest, BlockingHandlersEachGetTheirOwnThread) {
  Counter started;
  ActionServer server;
  server.Action("meet", [&](Request, Stream stream) {
    started.Add();
    // Blocks until the other call's handler runs too: impossible if handlers
    // shared one thread.
    stream.Send(started.WaitFor(2) ? "met" : "alone");
  });
  Start(server);
  Result a, b;
  std::thread other([&] { a = Run("meet"); });
  b = Run("meet");
  other.join();
  ASSERT_EQ(a.events.size(), 1u);
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(a.events[0].text(), "met");
  EXPECT_EQ(b.events[0].text(), "met");
}

// The client cancels while the handler streams big events as fast as it can:
// OnCancel runs once and the blocked Send returns false.
TEST_F(ServerTest, ClientCancelRunsOnCancelAndStopsSend) {
  Counter on_cancel_ran, send_failed;
  std::mutex mu;
  bool cancelled_seen = false;
  ActionServer server(QueueLimit(4));
  server.Action("firehose", [&](Request, Stream stream) {
    stream.OnCancel([&] { on_cancel_ran.Add(); });
    const std::string big(16 * 1024, 'x');
    while (stream.Send(Event().Raw(big))) {
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      cancelled_seen = stream.Cancelled();
    }
    send_failed.Add();
  });
  Start(server);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWait);
  auto reader = stub_->Run(&context, Req("firehose"));
  v1::Event event;
  ASSERT_TRUE(reader->Read(&event));
  context.TryCancel();
  EXPECT_TRUE(on_cancel_ran.WaitFor(1));
  EXPECT_TRUE(send_failed.WaitFor(1));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(on_cancel_ran.Get(), 1);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(cancelled_seen);
}

// A client that does not read: TrySend fails once the queue is full, yet every
// event it accepted is delivered, in order, when the client reads.
TEST_F(ServerTest, TrySendFailsWhenFullAndDeliversWhatItAccepted) {
  std::mutex mu;
  std::vector<Stream> streams;
  Counter subscribed;
  ActionServer server(QueueLimit(4));
  server.AsyncAction("slow", [&](Request, Stream stream) {
    std::lock_guard<std::mutex> lock(mu);
    streams.push_back(stream);
    subscribed.Add();
  });
  Start(server);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWait);
  auto reader = stub_->Run(&context, Req("slow"));
  ASSERT_TRUE(subscribed.WaitFor(1));
  Stream stream = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return streams[0];
  }();
  const std::string big(256 * 1024, 'x');
  int accepted = 0;
  while (accepted < 2000 &&
         stream.TrySend(Event().Id(absl::StrCat(accepted)).Raw(big))) {
    ++accepted;
  }
  EXPECT_LT(accepted, 2000);  // it did fill up
  EXPECT_FALSE(stream.Cancelled());
  stream.Finish();
  v1::Event event;
  int received = 0;
  while (reader->Read(&event)) {
    EXPECT_EQ(event.id(), absl::StrCat(received));
    ++received;
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(received, accepted);
}

TEST_F(ServerTest, ConcurrentSendsDeliverEveryEventExactlyOnce) {
  constexpr int kThreads = 4, kPerThread = 500;
  ActionServer server(QueueLimit(8));  // senders block often
  server.Action("fanin", [&](Request, Stream stream) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([stream, t]() mutable {
        for (int i = 0; i < kPerThread; ++i) {
          stream.Send(Event().Id(absl::StrCat(t, ":", i)));
        }
      });
    }
    for (auto& thread : threads) thread.join();
  });
  Start(server);
  Result result = Run("fanin");
  ASSERT_TRUE(result.status.ok());
  ASSERT_EQ(result.events.size(), size_t{kThreads * kPerThread});
  std::set<std::string> seen;
  std::map<int, int> next;  // per sender: the order is kept
  for (const auto& event : result.events) {
    EXPECT_TRUE(seen.insert(event.id()).second) << "duplicate " << event.id();
    std::vector<std::string> parts = absl::StrSplit(event.id(), ':');
    int t = 0, i = 0;
    ASSERT_TRUE(absl::SimpleAtoi(parts[0], &t) &&
                absl::SimpleAtoi(parts[1], &i));
    EXPECT_EQ(i, next[t]++);
  }
}

// A chat-room style service: 1,000 idle subscribers in one process without a
// thread each; a broadcast reaches all of them.
TEST_F(ServerTest, ThousandIdleAsyncStreamsUseFewThreads) {
  constexpr int kStreams = 1000;
  std::mutex mu;
  std::vector<Stream> room;
  Counter joined;
  ActionServer server;
  server.AsyncAction("subscribe", [&](Request, Stream stream) {
    std::lock_guard<std::mutex> lock(mu);
    room.push_back(stream);
    joined.Add();
  });
  Start(server);
  struct Client {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::Event>> reader;
  };
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kStreams; ++i) {
    auto client = std::make_unique<Client>();
    client->context.set_deadline(std::chrono::system_clock::now() +
                                 seconds(60));
    client->reader = stub_->Run(&client->context, Req("subscribe"));
    clients.push_back(std::move(client));
  }
  ASSERT_TRUE(joined.WaitFor(kStreams, seconds(60)));
  const int threads = ThreadCount();
  RecordProperty("threads", threads);
  std::cout << "threads with " << kStreams << " open streams: " << threads
            << "\n";
  EXPECT_LT(threads, 100) << "threads with " << kStreams << " open streams";

  std::vector<Stream> members;
  {
    std::lock_guard<std::mutex> lock(mu);
    members = room;
  }
  for (Stream& stream : members) EXPECT_TRUE(stream.TrySend("hello"));
  for (auto& client : clients) {
    v1::Event event;
    ASSERT_TRUE(client->reader->Read(&event));
    EXPECT_EQ(event.text(), "hello");
  }
  for (Stream& stream : members) stream.Finish();
  for (auto& client : clients) {
    v1::Event event;
    EXPECT_FALSE(client->reader->Read(&event));
    EXPECT_TRUE(client->reader->Finish().ok());
  }
}

TEST_F(ServerTest, ShutdownCancelsOpenStreams) {
  std::mutex mu;
  std::vector<Stream> streams;
  Counter subscribed, on_cancel_ran;
  ActionServer server;
  server.AsyncAction("idle", [&](Request, Stream stream) {
    stream.OnCancel([&] { on_cancel_ran.Add(); });
    std::lock_guard<std::mutex> lock(mu);
    streams.push_back(stream);
    subscribed.Add();
  });
  Start(server);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWait);
  auto reader = stub_->Run(&context, Req("idle"));
  ASSERT_TRUE(subscribed.WaitFor(1));
  running_->Shutdown();  // returns once the call is done
  EXPECT_EQ(on_cancel_ran.Get(), 1);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(streams[0].Cancelled());
  EXPECT_FALSE(streams[0].Send("gone"));
  v1::Event event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_FALSE(reader->Finish().ok());
  int late_calls = 0;
  streams[0].OnCancel([&] { ++late_calls; });  // already cancelled: runs now
  EXPECT_EQ(late_calls, 1);
}

// chat_send publishes the bot's reply after its stream is gone: what a
// handler uses must stay alive until it returns, so Shutdown waits for it.
TEST_F(ServerTest, ShutdownWaitsForActionHandlersToReturn) {
  std::atomic<bool> returned{false};
  Counter sending;
  ActionServer server;
  server.Action("lingers", [&](Request, Stream stream) {
    while (stream.Send("tick")) {
      sending.Add();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    returned = true;
  });
  Start(server);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWait);
  auto reader = stub_->Run(&context, Req("lingers"));
  ASSERT_TRUE(sending.WaitFor(1));
  running_->Shutdown();
  EXPECT_TRUE(returned);
}

// grpc.health.v1.Health/Check, spoken with a generic stub (Debian ships no
// generated health stubs). Returns the HealthCheckResponse bytes.
std::string HealthCheck(std::shared_ptr<grpc::Channel> channel,
                        const std::string& service, grpc::Status* status) {
  std::string request;
  if (!service.empty()) {  // field 1 (string), short names only
    request =
        absl::StrCat("\x0a", std::string(1, char(service.size())), service);
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1), response_buffer;
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;  // this thread only: nothing for TSan to doubt
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWait);
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check",
                                    request_buffer, &cq);
  call->StartCall();
  call->Finish(&response_buffer, status, &cq);
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(cq.Next(&tag, &ok));  // bounded by the call's deadline
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  grpc::Slice response;
  if (status->ok()) {
    EXPECT_TRUE(response_buffer.DumpToSingleSlice(&response).ok());
  }
  return std::string(reinterpret_cast<const char*>(response.begin()),
                     response.size());
}

TEST_F(ServerTest, HealthCheckAnswersServing) {
  ActionServer server;
  Start(server);
  const std::string kServing("\x08\x01", 2);  // status: SERVING
  grpc::Status status;
  EXPECT_EQ(HealthCheck(channel_, "", &status), kServing);
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(HealthCheck(channel_, "ssebridge.action.v1.ActionService", &status),
            kServing);
  EXPECT_TRUE(status.ok());
  HealthCheck(channel_, "no.such.Service", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, StartFailsOnBadAddress) {
  ActionServer server;
  EXPECT_FALSE(server.Start("256.0.0.1:99999").ok());
}

// Events queued while a write is in flight go as one Event.batch message,
// but only to a frontend that set accepts_batch. The first event is larger
// than the client's HTTP/2 window, so its write cannot finish before the
// client reads: everything after it is queued by then (no timing involved).
TEST_F(ServerTest, QueuedEventsGoAsOneBatchOnlyWhenTheRequestAcceptsIt) {
  constexpr int kSmall = 200;
  Counter queued;
  ActionServer server;
  server.Action("burst", [&](Request, Stream stream) {
    stream.Send(std::string(1 << 20, 'x'));
    for (int i = 1; i <= kSmall; ++i) {
      stream.Send(
          Event::Named("n").Id(absl::StrCat(i)).Text(absl::StrCat("e", i)));
    }
    queued.Add();
  });
  Start(server);
  auto stub = FixedWindowStub();
  for (const bool accepts : {false, true}) {
    SCOPED_TRACE(accepts ? "accepts_batch" : "no accepts_batch");
    const int before = queued.Get();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kWait);
    v1::ActionRequest request = Req("burst");
    request.set_accepts_batch(accepts);
    auto reader = stub->Run(&context, request);
    ASSERT_TRUE(queued.WaitFor(before + 1));  // all queued, nothing read
    std::vector<v1::Event> events;
    int messages = 0, batches = 0;
    size_t largest = 0;
    v1::Event message;
    while (reader->Read(&message)) {
      ++messages;
      if (message.batch_size() > 0) {
        ++batches;
        largest = std::max<size_t>(largest, message.batch_size());
        for (const v1::Event& e : message.batch()) events.push_back(e);
      } else {
        events.push_back(message);
      }
    }
    ASSERT_TRUE(reader->Finish().ok());
    ASSERT_EQ(events.size(), kSmall + 1u);  // nothing lost or repeated
    EXPECT_EQ(events[0].text().size(), 1u << 20);
    for (int i = 1; i <= kSmall; ++i) {  // in order, fields intact
      EXPECT_TRUE(Same(events[i], absl::StrCat("event: 'n' id: '", i,
                                               "' text: 'e", i, "'")));
    }
    if (accepts) {
      // 200 queued events in batches of at most kMaxBatchEvents.
      EXPECT_GT(batches, 0);
      EXPECT_LE(largest, internal::Call::kMaxBatchEvents);
      EXPECT_LT(messages, 1 + kSmall / 2);
    } else {
      EXPECT_EQ(batches, 0);
      EXPECT_EQ(messages, kSmall + 1);
    }
  }
}

// With max_queue_delay a stream is full once its oldest queued event has
// waited that long, however few are queued; it has room again once the
// client reads. The first event, larger than the client's window, keeps the
// write in flight until the client reads.
TEST_F(ServerTest, MaxQueueDelayFillsTheQueueByTheAgeOfItsOldestEvent) {
  ServerOptions options;
  options.max_queue_delay = absl::Milliseconds(50);
  Counter full, may_finish;
  std::atomic<bool> room_again{false};
  ActionServer server(options);
  server.Action("aging", [&](Request, Stream stream) {
    stream.Send(std::string(1 << 20, 'x'));  // in flight until read
    stream.Send("queued");                   // the queue's oldest
    // Room at first (young), then full: bounded by the 20 s wait below.
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (stream.TrySend("young") && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    full.Add();
    // Send waits until the client has read (the queue shrank), then goes.
    room_again = stream.Send("after");
    may_finish.WaitFor(1);
  });
  Start(server);
  auto stub = FixedWindowStub();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWait);
  auto reader = stub->Run(&context, Req("aging"));
  ASSERT_TRUE(full.WaitFor(1));
  std::vector<std::string> texts;
  v1::Event message;
  while (texts.empty() || texts.back() != "after") {
    ASSERT_TRUE(reader->Read(&message));
    if (message.batch_size() == 0) texts.push_back(message.text());
    for (const auto& e : message.batch()) texts.push_back(e.text());
  }
  may_finish.Add();
  while (reader->Read(&message)) {
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(room_again);
  ASSERT_GE(texts.size(), 3u);
  EXPECT_EQ(texts[1], "queued");
  // Only events queued within max_queue_delay of "queued" got in: far
  // fewer than the 1024 max_queued_events (one a millisecond at most).
  EXPECT_LT(texts.size(), 2u + 60u);
}

}  // namespace
}  // namespace ssebridge::sdk

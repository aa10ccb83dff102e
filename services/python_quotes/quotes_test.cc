// The Python service answering through the frontend: starts
// services/python_quotes/quotes_server.py as a child process on an ephemeral
// port (with Debian's /usr/bin/python3 + python3-grpcio + python3-grpc-tools,
// installed by `make deps`; this test installs nothing), a FrontendServer
// in-process with routes to it, and reads the streams with a raw SSE client.
// Who-is-asking metadata (x-ssebridge-sub, x-ssebridge-claim-name) is sent
// by calling the service directly over gRPC, as the frontend does on an
// authenticated route.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "frontend/http/frontend_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/spdlog.h"
#include "ssebridge/action/v1/action.grpc.pb.h"
#include "tests/util/sse_client.h"

#ifndef SSEBRIDGE_PYTHON3
#define SSEBRIDGE_PYTHON3 "/usr/bin/python3"
#endif

namespace ssebridge::frontend {
namespace {

using ::ssebridge::config::v1::FrontendConfig;
using ::ssebridge::testing::SseClient;
using ::testing::HasSubstr;
using ::testing::Not;
namespace v1 = ::ssebridge::action::v1;

template <typename Pred>
bool WaitFor(Pred pred, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!pred()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// The Python service as a child process; killed with the test process.
class PythonService {
 public:
  // Empty on success, else what went wrong (with the child's output).
  std::string Start(absl::Duration timeout) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return "pipe failed";
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) return "fork failed";
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      dup2(out[1], 1);
      dup2(out[1], 2);
      execl(SSEBRIDGE_PYTHON3, SSEBRIDGE_PYTHON3, QUOTES_SERVER_PY, "--listen",
            "127.0.0.1:0", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    fd_ = out[0];
    // Reads until the "listening on 127.0.0.1:PORT" line.
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      const size_t nl = output_.find("listening on ");
      if (nl != std::string::npos) {
        const size_t end = output_.find('\n', nl);
        if (end != std::string::npos) {
          absl::string_view line(output_.data() + nl, end - nl);
          const size_t colon = line.rfind(':');
          if (absl::SimpleAtoi(line.substr(colon + 1), &port_) && port_ > 0) {
            return "";
          }
          return "bad listening line: " + std::string(line);
        }
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) < 0) break;
      if (p.revents) {
        char buf[4096];
        ssize_t n = read(fd_, buf, sizeof(buf));
        if (n <= 0) break;  // the child exited
        output_.append(buf, static_cast<size_t>(n));
      }
    }
    return absl::StrCat(
        "python_quotes did not start (needs ", SSEBRIDGE_PYTHON3,
        " with Debian's python3-grpcio and python3-grpc-tools: make deps). "
        "Its output:\n",
        output_);
  }

  // SIGTERM, then SIGKILL if it is still there after 5 s. The exit status.
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (absl::Now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    pid_ = -1;
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return status;
  }

  ~PythonService() { Stop(); }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int port_ = 0;
  std::string output_;
};

class PythonQuotesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::warn);
    service_ = new PythonService();
    start_error_ = service_->Start(absl::Seconds(30));
    if (!start_error_.empty()) return;
    FrontendConfig cfg;
    cfg.mutable_listen()->set_address("127.0.0.1");
    cfg.mutable_listen()->set_port(0);
    auto* b = cfg.add_backends();
    b->set_name("python_quotes");
    b->set_target(absl::StrCat("127.0.0.1:", service_->port()));
    // The demo's route, and one naming an action the service lacks.
    auto* quotes = cfg.add_routes();
    quotes->set_path("/api/quotes");
    quotes->set_backend("python_quotes");
    quotes->set_expose_errors(true);
    auto* nope = cfg.add_routes();
    nope->set_path("/api/nope");
    nope->set_backend("python_quotes");
    nope->set_action("no_such_action");
    nope->set_expose_errors(true);
    auto server = FrontendServer::Create(cfg);
    if (!server.ok()) {
      start_error_ = std::string(server.status().message());
      return;
    }
    frontend_ = server->release();
    if (auto s = frontend_->Start(); !s.ok()) {
      start_error_ = std::string(s.message());
    }
  }

  static void TearDownTestSuite() {
    if (frontend_ != nullptr) frontend_->Shutdown(absl::Seconds(2));
    delete frontend_;
    frontend_ = nullptr;
    delete service_;
    service_ = nullptr;
  }

  void SetUp() override { ASSERT_EQ(start_error_, "") << start_error_; }

  void TearDown() override {
    if (frontend_ == nullptr) return;
    EXPECT_TRUE(WaitFor([] { return frontend_->live_sessions() == 0; },
                        absl::Seconds(5)))
        << frontend_->live_sessions() << " sessions still alive";
  }

  static int port() { return frontend_->port(); }

  static PythonService* service_;
  static FrontendServer* frontend_;
  static std::string start_error_;
};

PythonService* PythonQuotesTest::service_ = nullptr;
FrontendServer* PythonQuotesTest::frontend_ = nullptr;
std::string PythonQuotesTest::start_error_;

TEST_F(PythonQuotesTest, StreamsQuotesThenDone) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/api/quotes?n=3&interval_ms=20"));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
  EXPECT_EQ(c.status(), 200);
  EXPECT_EQ(c.header("content-type"), "text/event-stream; charset=utf-8");
  ASSERT_EQ(c.events().size(), 4u) << c.raw_body();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.events()[i].type, "quote");
    EXPECT_EQ(c.events()[i].last_event_id, absl::StrCat(i));
    EXPECT_THAT(c.events()[i].data, HasSubstr("<figure class=\"quote\">"));
    EXPECT_THAT(c.events()[i].data, HasSubstr(absl::StrCat("#", i + 1)));
  }
  // The service escapes its text: "Abelson & Sussman" arrives as &amp;.
  EXPECT_THAT(c.events()[0].data, HasSubstr("Abelson &amp; Gerald"));
  // Anonymous: nobody to greet.
  EXPECT_THAT(c.events()[0].data, Not(HasSubstr("quote-greeting")));
  EXPECT_EQ(c.events()[3].type, "done");
}

// One call straight to the Python service with `metadata`: its events.
std::vector<v1::Event> CallDirect(
    int port, const v1::ActionRequest& request,
    const std::vector<std::pair<std::string, std::string>>& metadata) {
  auto stub = v1::ActionService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  auto reader = stub->Run(&context, request);
  std::vector<v1::Event> events;
  v1::Event event;
  while (reader->Read(&event)) events.push_back(event);
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return events;
}

v1::ActionRequest QuotesRequest(int n) {
  v1::ActionRequest request;
  request.set_action("quotes");
  (*request.mutable_params())["n"] = absl::StrCat(n);
  (*request.mutable_params())["interval_ms"] = "0";
  return request;
}

TEST_F(PythonQuotesTest, FirstQuoteGreetsTheVerifiedUser) {
  const int port = service_->port();
  auto events =
      CallDirect(port, QuotesRequest(2), {{"x-ssebridge-sub", "kim<1>"}});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_THAT(events[0].html(),
              HasSubstr("<figure class=\"quote\"><p class=\"quote-greeting\">"
                        "Hello, kim&lt;1&gt;!</p><blockquote>"));
  EXPECT_THAT(events[1].html(), Not(HasSubstr("quote-greeting")));

  // The name claim, when the route passes it, is preferred (and escaped).
  events = CallDirect(
      port, QuotesRequest(1),
      {{"x-ssebridge-sub", "u-17"}, {"x-ssebridge-claim-name", "Kim & Co"}});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events[0].html(), HasSubstr("Hello, Kim &amp; Co!</p>"));

  // A resumed stream greets on the first quote it sends.
  v1::ActionRequest resumed = QuotesRequest(4);
  resumed.set_last_event_id("1");
  events = CallDirect(port, resumed, {{"x-ssebridge-sub", "kim"}});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id(), "2");
  EXPECT_THAT(events[0].html(), HasSubstr("Hello, kim!"));
}

TEST_F(PythonQuotesTest, AnonymousOrSelfNamedCallsAreNotGreeted) {
  const int port = service_->port();
  // A header or param naming a user, or a claim without a subject, is no
  // identity; neither is a subject sent twice.
  v1::ActionRequest request = QuotesRequest(1);
  (*request.mutable_headers())["x-user"] = "kim";
  (*request.mutable_params())["user"] = "kim";
  for (const auto& metadata :
       std::vector<std::vector<std::pair<std::string, std::string>>>{
           {},
           {{"x-ssebridge-claim-name", "Kim"}},
           {{"x-ssebridge-sub", ""}},
           {{"x-ssebridge-sub", "kim"}, {"x-ssebridge-sub", "root"}}}) {
    auto events = CallDirect(port, request, metadata);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_THAT(events[0].html(), Not(HasSubstr("quote-greeting")))
        << (metadata.empty() ? "no metadata" : metadata[0].first);
    EXPECT_THAT(events[0].html(), Not(HasSubstr("Hello")));
  }
}

TEST_F(PythonQuotesTest, DefaultsAreFiveQuotes) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/api/quotes?interval_ms=0"));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
  ASSERT_EQ(c.events().size(), 6u) << c.raw_body();
  EXPECT_EQ(c.events()[4].last_event_id, "4");
  EXPECT_EQ(c.events()[5].type, "done");
}

TEST_F(PythonQuotesTest, IntervalPacesTheStream) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  const absl::Time start = absl::Now();
  ASSERT_TRUE(c.Get("/api/quotes?n=3&interval_ms=200"));
  ASSERT_TRUE(
      c.ReadUntil([&] { return c.events().size() >= 1; }, absl::Seconds(5)));
  const absl::Duration first = absl::Now() - start;
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
  const absl::Duration total = absl::Now() - start;
  // The first quote comes at once, then two pauses of 200 ms each.
  EXPECT_GE(total - first, absl::Milliseconds(390));
  ASSERT_EQ(c.events().size(), 4u);
}

TEST_F(PythonQuotesTest, LastEventIdResumesAfterIt) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/api/quotes?n=4&interval_ms=0", {"Last-Event-ID: 1"}));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
  ASSERT_EQ(c.events().size(), 3u) << c.raw_body();
  EXPECT_EQ(c.events()[0].last_event_id, "2");
  EXPECT_EQ(c.events()[1].last_event_id, "3");
  EXPECT_EQ(c.events()[2].type, "done");
}

// A call that fails before its first event is, depending on whether the
// frontend had already sent the stream's head, either an HTTP error status
// ("upstream CODE: message") or a 200 stream with one `error` event.
void ExpectUpstreamError(const SseClient& c, absl::string_view code,
                         absl::string_view message) {
  if (c.status() == 200) {
    ASSERT_EQ(c.events().size(), 1u) << c.raw_body();
    EXPECT_EQ(c.events()[0].type, "error");
    EXPECT_THAT(c.events()[0].data, HasSubstr(absl::StrCat("\"", code, "\"")));
    EXPECT_THAT(c.events()[0].data, HasSubstr(message));
  } else {
    EXPECT_GE(c.status(), 400);
    EXPECT_THAT(c.raw_body(), HasSubstr(absl::StrCat("upstream ", code)));
    EXPECT_THAT(c.raw_body(), HasSubstr(message));
  }
}

TEST_F(PythonQuotesTest, BadParamIsInvalidArgument) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/api/quotes?n=lots"));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
  ExpectUpstreamError(c, "INVALID_ARGUMENT", "n must be an integer");
}

TEST_F(PythonQuotesTest, UnknownActionIsUnimplemented) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/api/nope"));
  ASSERT_TRUE(c.ReadToEof(absl::Seconds(10)));
  ExpectUpstreamError(c, "UNIMPLEMENTED", "");
}

TEST_F(PythonQuotesTest, DisconnectEndsTheCall) {
  // A long, slow stream; hanging up must free the session (the frontend
  // cancels the call, the service's pause wakes and returns).
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/api/quotes?n=1000&interval_ms=60000"));
  ASSERT_TRUE(
      c.ReadUntil([&] { return c.events().size() >= 1; }, absl::Seconds(5)));
  EXPECT_EQ(frontend_->live_sessions(), 1);
  c.Close();
  EXPECT_TRUE(WaitFor([] { return frontend_->live_sessions() == 0; },
                      absl::Seconds(3)));
}

TEST_F(PythonQuotesTest, StopsCleanlyOnSigterm) {
  // Runs last (tests run in order within the binary; under ctest each test
  // is its own process, so stopping here affects no other test).
  frontend_->Shutdown(absl::Seconds(1));
  delete frontend_;
  frontend_ = nullptr;
  const int status = service_->Stop();
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace ssebridge::frontend

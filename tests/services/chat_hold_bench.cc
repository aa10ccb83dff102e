// chat_hold_bench: how much memory does chat_bot need per idle chat_stream
// subscriber? Starts the real chat_bot binary as a child process on a free
// loopback port, opens N chat_stream calls to one room over several gRPC
// channels (callback API, one ClientReadReactor per call), checks that every
// one is subscribed by posting one message and counting its N deliveries,
// and prints the child's RSS before / after and per subscriber.
// (The bench's own client calls live in this process, not in the child.)
//
//   chat_hold_bench [--subscribers=10000] [--channels=20]
//                   [--binary=build/services/chat_bot/chat_bot]
//
// Built with the tests but not run by ctest (it holds 10k calls). Every wait
// is bounded; exit status 0 only if all subscribers got the message.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ssebridge/action/v1/action.grpc.pb.h"
#include "tests/util/test_util.h"

extern char** environ;

namespace {

namespace v1 = ::ssebridge::action::v1;
using ::ssebridge::testing::FreeLoopbackPort;
using ::ssebridge::testing::VmRssKb;

// Counters the reactors bump and main waits on, with a bound.
class Counters {
 public:
  void Bump(int& field) {
    std::lock_guard<std::mutex> lock(mu_);
    ++field;
    cv_.notify_all();
  }
  bool WaitFor(const int& field, int target, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                        [&] { return field >= target; });
  }
  int Get(const int& field) {
    std::lock_guard<std::mutex> lock(mu_);
    return field;
  }

  int ready = 0;     // initial metadata received: the call is up
  int received = 0;  // subscribers that received a chat event
  int done = 0;      // calls finished

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

class Subscriber final : public grpc::ClientReadReactor<v1::Event> {
 public:
  Subscriber(v1::ActionService::Stub* stub, Counters* counters)
      : counters_(counters) {
    request_.set_action("chat_stream");
    (*request_.mutable_params())["room"] = "bench";
    stub->async()->Run(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }
  void Cancel() { context_.TryCancel(); }

  void OnReadInitialMetadataDone(bool ok) override {
    if (ok) counters_->Bump(counters_->ready);
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (event_.event() == "chat" && !got_) {
      got_ = true;  // only this reactor's callbacks touch it, one at a time
      counters_->Bump(counters_->received);
    }
    StartRead(&event_);
  }
  void OnDone(const grpc::Status&) override {
    counters_->Bump(counters_->done);
  }

 private:
  Counters* counters_;
  grpc::ClientContext context_;
  v1::ActionRequest request_;
  v1::Event event_;
  bool got_ = false;
};

int ThreadCount(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    int n = 0;
    if (absl::StartsWith(line, "Threads:") &&
        absl::SimpleAtoi(absl::StripPrefix(line, "Threads:"), &n)) {
      return n;
    }
  }
  return -1;
}

std::string Flag(int argc, char** argv, const std::string& name,
                 const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (absl::StartsWith(argv[i], prefix)) return argv[i] + prefix.size();
  }
  return fallback;
}

// Posts one message to the bench room; true on OK.
bool Post(v1::ActionService::Stub* stub) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  v1::ActionRequest request;
  request.set_action("chat_post");
  (*request.mutable_params())["room"] = "bench";
  (*request.mutable_params())["user"] = "bench";
  (*request.mutable_params())["message"] = "hello, everyone";
  auto reader = stub->Run(&context, request);
  v1::Event event;
  while (reader->Read(&event)) {
  }
  return reader->Finish().ok();
}

}  // namespace

int main(int argc, char** argv) {
  int subscribers = 10000, channels = 20;
  if (!absl::SimpleAtoi(Flag(argc, argv, "subscribers", "10000"),
                        &subscribers) ||
      !absl::SimpleAtoi(Flag(argc, argv, "channels", "20"), &channels) ||
      subscribers < 1 || channels < 1) {
    std::fprintf(stderr, "bad --subscribers or --channels\n");
    return 2;
  }
  const std::string binary = Flag(argc, argv, "binary", CHAT_BOT_BINARY);
  const int port = FreeLoopbackPort();
  const std::string listen = absl::StrCat("--listen=127.0.0.1:", port);

  pid_t child = 0;
  char* child_argv[] = {const_cast<char*>(binary.c_str()),
                        const_cast<char*>(listen.c_str()), nullptr};
  if (posix_spawn(&child, binary.c_str(), nullptr, nullptr, child_argv,
                  environ) != 0) {
    std::perror("posix_spawn");
    return 1;
  }
  int status = 1;
  auto stop_child = [&] {
    kill(child, SIGTERM);
    int wstatus = 0;
    waitpid(child, &wstatus, 0);
  };

  // One channel per connection: distinct args keep gRPC from sharing them.
  std::vector<std::shared_ptr<grpc::Channel>> chans;
  std::vector<std::unique_ptr<v1::ActionService::Stub>> stubs;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("ssebridge.bench_channel", i);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    chans.push_back(
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                  grpc::InsecureChannelCredentials(), args));
    stubs.push_back(v1::ActionService::NewStub(chans.back()));
  }
  for (auto& ch : chans) {
    if (!ch->WaitForConnected(std::chrono::system_clock::now() +
                              std::chrono::seconds(15))) {
      std::fprintf(stderr, "chat_bot did not come up on port %d\n", port);
      stop_child();
      return 1;
    }
  }
  // Warm up (first call paths, thread pools), then take the baseline.
  if (!Post(stubs[0].get())) {
    std::fprintf(stderr, "warm-up chat_post failed\n");
    stop_child();
    return 1;
  }
  const long rss_before = VmRssKb(child);
  const int threads_before = ThreadCount(child);

  Counters counters;
  std::vector<std::unique_ptr<Subscriber>> subs;
  subs.reserve(subscribers);
  const absl::Time open_start = absl::Now();
  for (int i = 0; i < subscribers; ++i) {
    subs.push_back(
        std::make_unique<Subscriber>(stubs[i % channels].get(), &counters));
  }
  const bool all_up =
      counters.WaitFor(counters.ready, subscribers, absl::Seconds(120));
  const absl::Duration open_time = absl::Now() - open_start;

  // A post must reach every subscriber: proves they are all subscribed. The
  // server sends a call's initial metadata just before its handler
  // subscribes, so a last subscriber may miss the first post by a hair: up
  // to three posts.
  bool all_got = false;
  absl::Duration fanout_time;
  for (int attempt = 0; all_up && !all_got && attempt < 3; ++attempt) {
    const absl::Time post_start = absl::Now();
    if (!Post(stubs[0].get())) break;
    all_got =
        counters.WaitFor(counters.received, subscribers, absl::Seconds(30));
    if (attempt == 0) fanout_time = absl::Now() - post_start;
  }
  const long rss_after = VmRssKb(child);
  const int threads_after = ThreadCount(child);

  std::printf("chat_bot idle chat_stream subscribers: %d over %d channels\n",
              subscribers, channels);
  std::printf(
      "  calls up: %d in %.0f ms; first post reached %d in %.0f ms\n",
      counters.Get(counters.ready), absl::ToDoubleMilliseconds(open_time),
      counters.Get(counters.received), absl::ToDoubleMilliseconds(fanout_time));
  std::printf("  server RSS before: %ld KiB (%d threads)\n", rss_before,
              threads_before);
  std::printf("  server RSS after:  %ld KiB (%d threads)\n", rss_after,
              threads_after);
  std::printf("  per subscriber:    %.1f KiB\n",
              static_cast<double>(rss_after - rss_before) / subscribers);

  for (auto& s : subs) s->Cancel();
  const bool all_done =
      counters.WaitFor(counters.done, subscribers, absl::Seconds(60));
  if (all_done) {
    std::printf("  server RSS after all cancelled: %ld KiB\n", VmRssKb(child));
  }
  if (all_done) subs.clear();  // reactors must outlive OnDone
  stop_child();
  status = all_up && all_got ? 0 : 1;
  if (status != 0)
    std::fprintf(stderr, "FAILED: not every subscriber got it\n");
  // With !all_done the reactors are leaked on purpose: gRPC may still call
  // them.
  if (!all_done) std::_Exit(status);
  return status;
}

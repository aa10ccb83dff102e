// grpc_stream_cost: what one open server-streaming call costs a gRPC client
// (RSS and CPU per stream), measured with the frontend's channel settings
// (frontend/backend_pool.cc: BDP probe off, 64 KiB stream lookahead, one
// local subchannel pool per channel, round_robin) and the frontend's calling
// pattern (callback ClientReadReactor, StartRead then StartCall). The
// benchmark (run_bench) subtracts it from the frontend's cost per idle
// stream to tell the gRPC share from the HTTP/session share.
//
// Opens --streams calls of --action with --params over --channels channels
// to --target, waits (bounded) until every call has its initial metadata,
// samples /proc/self, optionally reads events for --measure seconds (their
// end-to-end latency from loadgen's "t=<ns>" stamp: what the gRPC leg alone
// adds), cancels everything and prints one JSON line.
#include <grpcpp/grpcpp.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "ssebridge/action/v1/action.grpc.pb.h"
#include "frontend/upstream/backend_pool.h"
#include "tests/bench/load_stats.h"
#include "tests/util/test_util.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50061", "loadgen address");
ABSL_FLAG(int, streams, 1000, "calls to hold open");
ABSL_FLAG(int, channels, 16, "channels (HTTP/2 connections)");
ABSL_FLAG(std::string, action, "load", "action name");
ABSL_FLAG(std::string, params, "idle=1", "k=v&k=v request params");
ABSL_FLAG(double, timeout, 30, "seconds to wait for every call to open");
ABSL_FLAG(double, measure, 0,
          "seconds to read events and measure their latency (0 = none)");

namespace {

namespace v1 = ::ssebridge::action::v1;

class Counter {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++n_;
    cv_.notify_all();
  }
  bool WaitFor(int n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return n_ >= n; });
  }
  int Get() {
    std::lock_guard<std::mutex> lock(mu_);
    return n_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_ = 0;
};

int64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Latency of every event read, from its "t=<ns> " prefix.
struct Latency {
  std::mutex mu;
  ssebridge::bench::Histogram hist;
  bool on = false;
  void Record(const std::string& payload) {
    const int64_t now = RealtimeNs();
    if (payload.rfind("t=", 0) != 0) return;
    int64_t t = 0;
    if (!absl::SimpleAtoi(
            absl::string_view(payload).substr(2, payload.find(' ') - 2), &t)) {
      return;
    }
    std::lock_guard<std::mutex> lock(mu);
    if (on) hist.Record(now - t);
  }
};

// One held call, shaped like the frontend's StreamSession's gRPC side.
class Call : public grpc::ClientReadReactor<v1::Event> {
 public:
  Call(Counter* opened, Counter* done, Latency* latency)
      : opened_(opened), done_(done), latency_(latency) {}
  void Start(v1::ActionService::Stub* stub, const v1::ActionRequest& req) {
    request_ = req;
    stub->async()->Run(&ctx_, &request_, this);
    StartRead(&event_);
    StartCall();
  }
  void Cancel() { ctx_.TryCancel(); }
  void OnReadInitialMetadataDone(bool ok) override { opened_->Add(); }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    latency_->Record(event_.raw());
    StartRead(&event_);
  }
  void OnDone(const grpc::Status&) override { done_->Add(); }

 private:
  Counter* opened_;
  Counter* done_;
  Latency* latency_;
  grpc::ClientContext ctx_;
  v1::ActionRequest request_;
  v1::Event event_;
};

struct Sample {
  double cpu_ms = 0;
  long rss_kb = 0;
};

Sample SampleSelf() {
  Sample s;
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  s.cpu_ms = static_cast<double>(ts.tv_sec) * 1e3 +
             static_cast<double>(ts.tv_nsec) / 1e6;
  s.rss_kb = std::max<long>(0, ssebridge::testing::VmRssKb(0));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int streams = std::max(1, absl::GetFlag(FLAGS_streams));
  const int channels = std::max(1, absl::GetFlag(FLAGS_channels));
  std::vector<std::shared_ptr<grpc::Channel>> chans;
  std::vector<std::unique_ptr<v1::ActionService::Stub>> stubs;
  for (int i = 0; i < channels; ++i) {
    auto ch = grpc::CreateCustomChannel(
        absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials(),
        ssebridge::frontend::BackendChannelArgs(i));
    ch->WaitForConnected(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    stubs.push_back(v1::ActionService::NewStub(ch));
    chans.push_back(std::move(ch));
  }
  v1::ActionRequest req;
  req.set_action(absl::GetFlag(FLAGS_action));
  for (absl::string_view kv :
       absl::StrSplit(absl::GetFlag(FLAGS_params), '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, '=');
    (*req.mutable_params())[p.first] = p.second;
  }
  // Settle the process (threads, channel buffers) with one call first, so
  // the per-stream figure is the marginal cost.
  Counter opened, done;
  Latency latency;
  std::vector<std::unique_ptr<Call>> calls;
  calls.push_back(std::make_unique<Call>(&opened, &done, &latency));
  calls.back()->Start(stubs[0].get(), req);
  opened.WaitFor(1, std::chrono::seconds(5));
  const Sample before = SampleSelf();
  for (int i = 1; i <= streams; ++i) {
    calls.push_back(std::make_unique<Call>(&opened, &done, &latency));
    calls.back()->Start(stubs[static_cast<size_t>(i) % stubs.size()].get(),
                        req);
  }
  const bool all = opened.WaitFor(
      streams + 1, std::chrono::milliseconds(static_cast<int64_t>(
                       absl::GetFlag(FLAGS_timeout) * 1000)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const Sample after = SampleSelf();
  const int n = opened.Get() - 1;
  const double measure = absl::GetFlag(FLAGS_measure);
  if (measure > 0) {
    {
      std::lock_guard<std::mutex> lock(latency.mu);
      latency.on = true;
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(static_cast<int64_t>(measure * 1000)));
    std::lock_guard<std::mutex> lock(latency.mu);
    latency.on = false;
  }
  for (auto& c : calls) c->Cancel();
  const bool finished =
      done.WaitFor(static_cast<int>(calls.size()), std::chrono::seconds(20));
  const auto& h = latency.hist;
  std::printf(
      "{\"streams\":%d,\"opened\":%d,\"all_opened\":%s,\"rss_kb\":[%ld,%ld],"
      "\"kb_per_stream\":%.2f,\"cpu_ms_per_stream\":%.4f,"
      "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,"
      "\"n\":%llu}}\n",
      streams, n, all ? "true" : "false", before.rss_kb, after.rss_kb,
      n > 0 ? static_cast<double>(after.rss_kb - before.rss_kb) / n : 0.0,
      n > 0 ? (after.cpu_ms - before.cpu_ms) / n : 0.0,
      static_cast<double>(h.Percentile(0.5)) / 1e6,
      static_cast<double>(h.Percentile(0.9)) / 1e6,
      static_cast<double>(h.Percentile(0.99)) / 1e6,
      static_cast<double>(h.max()) / 1e6,
      static_cast<unsigned long long>(h.count()));
  std::fflush(stdout);
  if (!finished) _exit(1);  // calls still pending: do not wait in destructors
  calls.clear();
  return all ? 0 : 1;
}

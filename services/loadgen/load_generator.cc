#include "services/loadgen/load_generator.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ssebridge/action/v1/action.pb.h"

namespace ssebridge::loadgen {
namespace {

constexpr double kMaxRate = 1e6;
constexpr int64_t kMaxBytes = 1 << 20;
// Events one as-fast-as-possible stream sends per turn, so the streams of a
// thread take turns fairly.
constexpr int kBurst = 32;
// When a stream's queue is full: first retry after this, doubling up to
// kMaxBackoffNs while it stays full.
constexpr int64_t kMinBackoffNs = 250'000;
constexpr int64_t kMaxBackoffNs = 20'000'000;
// A paced stream that fell further behind than this skips ahead instead of
// sending the missed events in one burst.
constexpr int64_t kMaxCatchUpNs = 1'000'000'000;
// Due entries handled before a thread looks at newly added streams again.
constexpr int kStepsPerRound = 4096;

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

int64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string MakePayload(int64_t t_ns, uint64_t seq, size_t bytes) {
  std::string out = absl::StrCat("t=", t_ns, " seq=", seq, " ");
  if (out.size() < bytes) out.append(bytes - out.size(), 'x');
  return out;
}

absl::StatusOr<LoadParams> ParseLoadParams(const sdk::Request& request) {
  LoadParams p;
  const auto& params = request.params();
  auto bad = [](absl::string_view name, absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter ", name, ": ", why));
  };
  if (auto it = params.find("rate"); it != params.end()) {
    if (!absl::SimpleAtod(it->second, &p.rate) || !(p.rate >= 0) ||
        p.rate > kMaxRate) {
      return bad("rate", "want a number of events/s in [0, 1000000]");
    }
  }
  if (auto it = params.find("count"); it != params.end()) {
    if (!absl::SimpleAtoi(it->second, &p.count) || p.count < 0) {
      return bad("count", "want a whole number >= 0");
    }
  }
  if (auto it = params.find("bytes"); it != params.end()) {
    int64_t bytes = 0;
    if (!absl::SimpleAtoi(it->second, &bytes) || bytes < 0 ||
        bytes > kMaxBytes) {
      return bad("bytes", "want a size in [0, 1048576]");
    }
    p.bytes = static_cast<size_t>(bytes);
  }
  if (auto it = params.find("start_ms"); it != params.end()) {
    if (!absl::SimpleAtoi(it->second, &p.start_ms) || p.start_ms < 0 ||
        p.start_ms > 60000) {
      return bad("start_ms", "want milliseconds in [0, 60000]");
    }
  }
  if (auto it = params.find("idle"); it != params.end()) {
    if (it->second != "0" && it->second != "1")
      return bad("idle", "want 0 or 1");
    p.idle = it->second == "1";
  }
  if (auto it = params.find("ids"); it != params.end()) {
    if (it->second != "0" && it->second != "1")
      return bad("ids", "want 0 or 1");
    p.ids = it->second == "1";
  }
  return p;
}

// One scheduled stream; owned by the Worker that runs it.
struct LoadGenerator::Active {
  Active(const LoadParams& p, sdk::Stream s)
      : params(p), stream(std::move(s)) {}
  LoadParams params;
  sdk::Stream stream;
  std::shared_ptr<std::atomic<bool>> cancelled;
  uint64_t next_seq = 1;
  int64_t due_ns = 0;       // CLOCK_MONOTONIC
  int64_t interval_ns = 0;  // paced streams
  int64_t backoff_ns = kMinBackoffNs;
};

// One scheduler thread and the streams it runs, in a heap by due time.
class LoadGenerator::Worker {
 public:
  explicit Worker(std::atomic<int64_t>* active)
      : active_(active), thread_([this] { Run(); }) {}
  ~Worker() { Stop(); }

  void Add(std::unique_ptr<Active> a) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stop_) {
        incoming_.push_back(std::move(a));
        cv_.notify_one();
        return;
      }
    }
    Drop(*a, /*stopping=*/true);
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Entry {
    int64_t due_ns;
    uint64_t order;  // FIFO among equal due times
    std::unique_ptr<Active> active;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.due_ns != b.due_ns ? a.due_ns > b.due_ns : a.order > b.order;
    }
  };

  void Push(std::unique_ptr<Active> a) {
    const int64_t due = a->due_ns;
    heap_.push_back(Entry{due, order_++, std::move(a)});
    std::push_heap(heap_.begin(), heap_.end(), Later());
  }

  std::unique_ptr<Active> Pop() {
    std::pop_heap(heap_.begin(), heap_.end(), Later());
    std::unique_ptr<Active> a = std::move(heap_.back().active);
    heap_.pop_back();
    return a;
  }

  void Drop(Active& a, bool stopping) {
    if (stopping) a.stream.Finish(absl::UnavailableError("loadgen stopping"));
    active_->fetch_sub(1, std::memory_order_relaxed);
  }

  void Run() {
    std::vector<std::unique_ptr<Active>> added;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        auto woken = [this] { return stop_ || !incoming_.empty(); };
        if (heap_.empty()) {
          cv_.wait(lock, woken);
        } else {
          const int64_t wait = heap_.front().due_ns - MonotonicNs();
          if (wait > 0) {
            cv_.wait_for(lock, std::chrono::nanoseconds(wait), woken);
          }
        }
        if (stop_) break;
        added.swap(incoming_);
      }
      const int64_t now = MonotonicNs();
      for (auto& a : added) {
        a->due_ns = now + a->params.start_ms * 1000000;
        Push(std::move(a));
      }
      added.clear();
      for (int steps = 0; steps < kStepsPerRound && !heap_.empty() &&
                          heap_.front().due_ns <= MonotonicNs();
           ++steps) {
        std::unique_ptr<Active> a = Pop();
        if (Step(*a)) {
          Push(std::move(a));
        } else {
          Drop(*a, /*stopping=*/false);
        }
      }
    }
    for (auto& e : heap_) Drop(*e.active, /*stopping=*/true);
    heap_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& a : incoming_) Drop(*a, /*stopping=*/true);
    incoming_.clear();
  }

  // Sends the stream's next event if its queue has room.
  static bool SendOne(Active& a) {
    ssebridge::action::v1::Event event;
    event.set_raw(MakePayload(RealtimeNs(), a.next_seq, a.params.bytes));
    if (a.params.ids) event.set_id(absl::StrCat(a.next_seq));
    if (!a.stream.TrySend(std::move(event))) return false;
    ++a.next_seq;
    return true;
  }

  static bool Done(const Active& a) {
    return a.params.count > 0 &&
           a.next_seq > static_cast<uint64_t>(a.params.count);
  }

  // Does what is due on `a` and sets its next due time; false when the
  // stream needs no more turns (finished, or the client went away).
  bool Step(Active& a) {
    if (a.cancelled->load(std::memory_order_relaxed)) return false;
    const int64_t now = MonotonicNs();
    if (a.params.rate > 0) {
      if (!SendOne(a)) {
        if (a.stream.Cancelled()) return false;
        a.due_ns = now + kMinBackoffNs;  // queue full: try again shortly
        return true;
      }
      if (Done(a)) {
        a.stream.Finish();
        return false;
      }
      a.due_ns += a.interval_ns;
      if (a.due_ns < now - kMaxCatchUpNs) a.due_ns = now;
      return true;
    }
    for (int i = 0; i < kBurst; ++i) {
      if (!SendOne(a)) {
        if (a.stream.Cancelled()) return false;
        a.due_ns = now + a.backoff_ns;
        a.backoff_ns = std::min(a.backoff_ns * 2, kMaxBackoffNs);
        return true;
      }
      if (Done(a)) {
        a.stream.Finish();
        return false;
      }
    }
    a.backoff_ns = kMinBackoffNs;
    a.due_ns = now;  // behind the other due streams (FIFO order)
    return true;
  }

  std::atomic<int64_t>* const active_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Active>> incoming_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // Scheduler thread only.
  std::vector<Entry> heap_;
  uint64_t order_ = 0;
  std::thread thread_;  // last: starts after the members above exist
};

LoadGenerator::LoadGenerator(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    workers_.push_back(std::make_unique<Worker>(&active_));
  }
}

LoadGenerator::~LoadGenerator() { Stop(); }

void LoadGenerator::Register(sdk::ActionServer& server) {
  server.AsyncAction("load", [this](sdk::Request request, sdk::Stream stream) {
    absl::StatusOr<LoadParams> params = ParseLoadParams(request);
    if (!params.ok()) {
      stream.Finish(params.status());
      return;
    }
    // An idle stream needs nothing from us: the SDK keeps the call open
    // until the client goes away.
    if (params->idle) return;
    Add(*params, std::move(stream));
  });
}

void LoadGenerator::Add(const LoadParams& params, sdk::Stream stream) {
  if (stopped_.load()) {
    stream.Finish(absl::UnavailableError("loadgen stopping"));
    return;
  }
  auto a = std::make_unique<Active>(params, std::move(stream));
  a->cancelled = std::make_shared<std::atomic<bool>>(false);
  if (params.rate > 0) {
    a->interval_ns = static_cast<int64_t>(1e9 / params.rate);
  }
  // Only the flag: a callback holding the stream would keep its call alive.
  a->stream.OnCancel([flag = a->cancelled] { flag->store(true); });
  active_.fetch_add(1, std::memory_order_relaxed);
  const uint32_t i =
      next_worker_.fetch_add(1, std::memory_order_relaxed) % workers_.size();
  workers_[i]->Add(std::move(a));
}

void LoadGenerator::Stop() {
  stopped_.store(true);
  for (auto& w : workers_) w->Stop();
}

}  // namespace ssebridge::loadgen

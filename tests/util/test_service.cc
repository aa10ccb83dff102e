#include "tests/util/test_service.h"

#include <grpcpp/health_check_service_interface.h>

#include <condition_variable>
#include <deque>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/tsan/annotations.h"

namespace ssebridge::testing {
namespace {

using ::ssebridge::action::v1::ActionRequest;
using ::ssebridge::action::v1::Event;

std::string Param(const ActionRequest& r, const std::string& k,
                  const std::string& def = "") {
  auto it = r.params().find(k);
  return it == r.params().end() ? def : it->second;
}

int IntParam(const ActionRequest& r, const std::string& k, int def) {
  int v;
  return absl::SimpleAtoi(Param(r, k), &v) ? v : def;
}

// A write queue in front of the reactor: Push/Finish from any thread.
class Reactor : public grpc::ServerWriteReactor<Event> {
 public:
  Reactor(TestService* svc, grpc::CallbackServerContext* ctx, ActionRequest req)
      : svc_(svc), ctx_(ctx), req_(std::move(req)), tag_(Param(req_, "tag")) {
    SSEBRIDGE_TSAN_RELEASE(this);
    StartSendInitialMetadata();
  }

  void Begin() {
    const std::string& action = req_.action();
    if (action == "endless") {
      endless_ = true;
      std::lock_guard<std::mutex> lock(mu_);
      PumpLocked();
      return;
    }
    if (action == "idle") return;
    // Everything else runs on a worker thread that may sleep.
    worker_ = std::thread([this] { Work(); });
    // gRPC binds the reactor (and only then runs OnDone, which reads
    // worker_) after Run() returns, through synchronisation TSan cannot see.
    SSEBRIDGE_TSAN_RELEASE(this);
  }

  void Push(Event e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return;
    queue_.push_back(std::move(e));
    PumpLocked();
  }

  void FinishWith(grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_ || finish_) return;
    finish_ = std::move(s);
    PumpLocked();
  }

  void OnSendInitialMetadataDone(bool ok) override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
  }

  void OnWriteDone(bool ok) override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) failed_ = true;
    if (endless_ && ok) svc_->endless_written_.fetch_add(1);
    PumpLocked();
    cancel_cv_.notify_all();  // the queue may have room again
  }

  void OnCancel() override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cancel_cv_.notify_all();
    PumpLocked();
  }

  void OnDone() override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    bool cancelled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      cancelled = cancelled_;
      cancel_cv_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
    svc_->OnCallDone(tag_, cancelled);
    delete this;
  }

 private:
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_) return;
    if (cancelled_ || failed_) {
      // A server reactor must Finish even when the call is cancelled.
      finished_ = true;
      SSEBRIDGE_TSAN_RELEASE(this);
      Finish(grpc::Status::CANCELLED);
      return;
    }
    if (endless_) {
      current_.Clear();
      current_.set_raw(
          absl::StrCat("endless-", seq_++, " ", std::string(200, 'x')));
      writing_ = true;
      SSEBRIDGE_TSAN_RELEASE(this);
      StartWrite(&current_);
      return;
    }
    if (!queue_.empty()) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      SSEBRIDGE_TSAN_RELEASE(this);
      StartWrite(&current_);
      return;
    }
    if (finish_) {
      finished_ = true;
      SSEBRIDGE_TSAN_RELEASE(this);
      Finish(*finish_);
    }
  }

  bool Cancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_ || done_;
  }

  // Waits until fewer than `limit` events are queued (or the call ends):
  // flow control for actions that produce as fast as they are read.
  void WaitForRoom(size_t limit) {
    std::unique_lock<std::mutex> lock(mu_);
    cancel_cv_.wait(lock, [&] {
      return queue_.size() < limit || cancelled_ || done_ || failed_;
    });
  }

  // Sleeps for `d` unless the call is cancelled first, so that OnDone (which
  // joins the worker) never holds a gRPC thread for a whole pause.
  void PauseUnlessCancelled(absl::Duration d) {
    std::unique_lock<std::mutex> lock(mu_);
    cancel_cv_.wait_for(lock, absl::ToChronoNanoseconds(d),
                        [this] { return cancelled_ || done_; });
  }

  void Work() {
    const std::string& action = req_.action();
    if (action == "script") {
      TestService::Script script =
          svc_->GetScriptForTest(Param(req_, "script"));
      for (auto& e : script.events) Push(e);
      // With gate=1 the call stays open until OpenGate(tag).
      if (Param(req_, "gate") == "1") {
        while (!Cancelled() && !svc_->GateOpen(tag_)) {
          PauseUnlessCancelled(absl::Milliseconds(1));
        }
      }
      FinishWith(script.status);
    } else if (action == "tokens") {
      const int n = IntParam(req_, "n", 10);
      for (int i = 0; i < n; ++i) {
        Event e;
        e.set_id(absl::StrCat(i));
        e.set_text(absl::StrCat(tag_, "-", i));
        Push(std::move(e));
      }
      FinishWith(grpc::Status::OK);
    } else if (action == "fail_after") {
      const int k = IntParam(req_, "k", 1);
      for (int i = 0; i < k; ++i) {
        Event e;
        e.set_text(absl::StrCat("before-fail-", i));
        Push(std::move(e));
      }
      FinishWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "boom"));
    } else if (action == "echo") {
      Event e;
      auto* f = e.mutable_json()->mutable_struct_value()->mutable_fields();
      (*f)["last_event_id"].set_string_value(req_.last_event_id());
      (*f)["path"].set_string_value(req_.path());
      (*f)["method"].set_string_value(req_.method());
      for (const auto& [k, v] : req_.params()) {
        (*(*f)["params"].mutable_struct_value()->mutable_fields())[k]
            .set_string_value(v);
      }
      for (const auto& [k, v] : req_.headers()) {
        (*(*f)["headers"].mutable_struct_value()->mutable_fields())[k]
            .set_string_value(v);
      }
      auto md = ctx_->client_metadata();
      for (const auto& [k, v] : md) {
        std::string key(k.data(), k.size());
        if (key.rfind("x-", 0) == 0 || key == "cookie") {
          (*(*f)["metadata"].mutable_struct_value()->mutable_fields())[key]
              .set_string_value(std::string(v.data(), v.size()));
        }
      }
      Push(std::move(e));
      FinishWith(grpc::Status::OK);
    } else if (action == "paced") {
      const int n = IntParam(req_, "n", 5);
      const int ms = IntParam(req_, "ms", 10);
      // With resume=1, from the event after a numeric Last-Event-ID.
      int first = 0;
      if (Param(req_, "resume") == "1" &&
          absl::SimpleAtoi(req_.last_event_id(), &first)) {
        ++first;
      }
      for (int i = first; i < n && !Cancelled(); ++i) {
        Event e;
        e.set_id(absl::StrCat(i));
        e.set_text(absl::StrCat(tag_, "-", i));
        Push(std::move(e));
        PauseUnlessCancelled(absl::Milliseconds(ms));
      }
      FinishWith(grpc::Status::OK);
    } else if (action == "numbered") {
      const int n = IntParam(req_, "n", 1'000'000'000);
      const int us = IntParam(req_, "us", 1000);
      const std::string prefix = Param(req_, "id", "e");
      auto numbered = [&](int i) {
        Event e;
        e.set_id(absl::StrCat(prefix, i));
        e.set_text(absl::StrCat(tag_, "-", i));
        return e;
      };
      for (int i = 0; i < n && !Cancelled(); ++i) {
        WaitForRoom(64);
        Push(numbered(i));
        if (us > 0) PauseUnlessCancelled(absl::Microseconds(us));
      }
      if (Param(req_, "gate") == "1") {
        while (!Cancelled() && !svc_->GateOpen(tag_)) {
          PauseUnlessCancelled(absl::Milliseconds(1));
        }
        Push(numbered(n));
      }
      FinishWith(grpc::Status::OK);
    } else {
      FinishWith(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                              "unknown test action " + action));
    }
  }

  TestService* const svc_;
  grpc::CallbackServerContext* const ctx_;
  const ActionRequest req_;
  const std::string tag_;
  std::thread worker_;
  bool endless_ = false;
  uint64_t seq_ = 0;

  std::mutex mu_;
  // cancelled_ or done_ became true, or a write completed (queue_ shrank).
  std::condition_variable cancel_cv_;
  std::deque<Event> queue_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);
  Event current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

grpc::ServerWriteReactor<Event>* TestService::Run(
    grpc::CallbackServerContext* ctx, const ActionRequest* request) {
  started_.fetch_add(1);
  active_.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_[Param(*request, "tag")] = *request;
    auto& md = metadata_[Param(*request, "tag")];
    md.clear();
    for (const auto& [k, v] : ctx->client_metadata()) {
      md.emplace(std::string(k.data(), k.size()),
                 std::string(v.data(), v.size()));
    }
    peers_.insert(ctx->peer());
    active_tags_.insert(Param(*request, "tag"));
  }
  auto* r = new Reactor(this, ctx, *request);
  r->Begin();
  return r;
}

void TestService::SetScript(const std::string& name, std::vector<Event> events,
                            grpc::Status final_status) {
  std::lock_guard<std::mutex> lock(mu_);
  scripts_[name] = Script{std::move(events), std::move(final_status)};
}

TestService::Script TestService::GetScriptForTest(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = scripts_.find(name);
  if (it == scripts_.end()) {
    return Script{{}, grpc::Status(grpc::StatusCode::NOT_FOUND, "no script")};
  }
  return it->second;
}

void TestService::OnCallDone(const std::string& tag, bool cancelled) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = active_tags_.find(tag); it != active_tags_.end()) {
      active_tags_.erase(it);
    }
    if (cancelled) cancel_times_[tag] = absl::Now();
  }
  if (cancelled) cancelled_.fetch_add(1);
  active_.fetch_sub(1);
}

std::multiset<std::string> TestService::active_tags() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_tags_;
}

void TestService::OpenGate(const std::string& tag) {
  std::lock_guard<std::mutex> lock(mu_);
  open_gates_.insert(tag);
}

bool TestService::GateOpen(const std::string& tag) const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_gates_.contains(tag);
}

std::map<std::string, absl::Time> TestService::cancel_times() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancel_times_;
}

std::set<std::string> TestService::peers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peers_;
}

std::multimap<std::string, std::string> TestService::last_metadata(
    const std::string& tag) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = metadata_.find(tag);
  return it == metadata_.end() ? std::multimap<std::string, std::string>{}
                               : it->second;
}

std::optional<ActionRequest> TestService::last_request(
    const std::string& tag) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = requests_.find(tag);
  if (it == requests_.end()) return std::nullopt;
  return it->second;
}

TestServer::TestServer(int port, bool health) {
  // A process-wide switch read by BuildAndStart(); servers are built one at
  // a time in the tests.
  grpc::EnableDefaultHealthCheckService(health);
  grpc::ServerBuilder builder;
  // Restarting on the same port must not silently share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port),
                           grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(&service_);
  server_ = builder.BuildAndStart();
  grpc::EnableDefaultHealthCheckService(true);
}

TestServer::~TestServer() { Stop(); }

void TestServer::Stop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(200));
    server_->Wait();
    server_.reset();
  }
}

}  // namespace ssebridge::testing

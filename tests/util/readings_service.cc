#include "tests/util/readings_service.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <condition_variable>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/tsan/annotations.h"

namespace ssebridge::testing {
namespace {

using ::ssebridge::test::v1::Reading;
using ::ssebridge::test::v1::WatchRequest;

std::atomic<bool> reflection_on{false};

class WatchReactor : public grpc::ServerWriteReactor<Reading> {
 public:
  WatchReactor(ReadingsService* svc, WatchRequest request)
      : svc_(svc), request_(std::move(request)) {
    worker_ = std::thread([this] { Work(); });
    SSEBRIDGE_TSAN_RELEASE(this);
  }

  void OnWriteDone(bool ok) override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) stop_ = true;
    cv_.notify_all();
  }

  void OnCancel() override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    svc_->OnCancelled(request_.tag());
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = stop_ = true;
    cv_.notify_all();
  }

  void OnDone() override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    worker_.join();
    bool cancelled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled = cancelled_;
    }
    svc_->OnCallDone(cancelled);
    delete this;
  }

 private:
  void Work() {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    int64_t seq = request_.after_seq() > 0 ? request_.after_seq() + 1
                                           : request_.start_seq();
    const auto interval = std::chrono::milliseconds(request_.interval_ms());
    for (int32_t i = 0; request_.count() == 0 || i < request_.count(); ++i) {
      std::unique_lock<std::mutex> lock(mu_);
      if (i > 0 && interval.count() > 0) {
        cv_.wait_for(lock, interval, [&] { return stop_; });
      }
      cv_.wait(lock, [&] { return stop_ || !writing_; });
      if (stop_) break;
      reading_ = ReadingsService::MakeReading(request_, seq++);
      writing_ = true;
      lock.unlock();
      SSEBRIDGE_TSAN_RELEASE(this);
      StartWrite(&reading_);
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return stop_ || !writing_; });
    const bool stopped = stop_;
    lock.unlock();
    SSEBRIDGE_TSAN_RELEASE(this);
    if (stopped) {
      Finish(grpc::Status::CANCELLED);
    } else if (request_.fail()) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "boom"));
    } else {
      Finish(grpc::Status::OK);
    }
  }

  ReadingsService* const svc_;
  const WatchRequest request_;
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  Reading reading_;  // the write in flight
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

Reading ReadingsService::MakeReading(const WatchRequest& request,
                                     int64_t seq) {
  Reading r;
  r.set_seq(seq);
  r.set_kind(seq % 2 == 0 ? "even" : "odd");
  r.set_level(request.level());
  r.add_values(static_cast<int32_t>(seq));
  r.add_values(-static_cast<int32_t>(seq));
  r.set_blob(absl::StrCat(std::string(1, '\0'), request.topic(), request.key()));
  r.mutable_at()->set_x(request.origin().x() + static_cast<int32_t>(seq));
  r.mutable_at()->set_y(request.origin().y());
  for (int i = 0; i < 2; ++i) {
    auto* p = r.add_path();
    p->set_x(i);
    p->set_y(static_cast<int32_t>(seq));
  }
  if (seq % 2 == 0) {
    r.set_note(absl::StrCat("n", seq));
  } else {
    r.mutable_extra()->set_x(static_cast<int32_t>(seq));
  }
  r.mutable_time()->set_seconds(request.since().seconds() + seq);
  (*r.mutable_tags())["topic"] = request.topic();
  for (const std::string& l : request.labels()) (*r.mutable_tags())[l] = "1";
  r.mutable_meta()->set_cursor(absl::StrCat("c", seq));
  r.mutable_meta()->set_level(request.level());
  r.set_big((uint64_t{1} << 63) + static_cast<uint64_t>(seq));
  r.set_flag(seq % 2 == 1);
  r.set_ratio(static_cast<double>(seq) / 4);
  return r;
}

grpc::ServerWriteReactor<Reading>* ReadingsService::Watch(
    grpc::CallbackServerContext* ctx, const WatchRequest* request) {
  started_.fetch_add(1);
  active_.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_[request->tag()] = *request;
    auto& md = metadata_[request->tag()];
    md.clear();
    for (const auto& [k, v] : ctx->client_metadata()) {
      md.emplace(std::string(k.data(), k.size()),
                 std::string(v.data(), v.size()));
    }
  }
  return new WatchReactor(this, *request);
}

void ReadingsService::OnCancelled(const std::string& tag) {
  std::lock_guard<std::mutex> lock(mu_);
  cancel_times_[tag] = absl::Now();
}

void ReadingsService::OnCallDone(bool cancelled) {
  if (cancelled) cancelled_.fetch_add(1);
  active_.fetch_sub(1);
}

std::optional<absl::Time> ReadingsService::cancel_time(
    const std::string& tag) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cancel_times_.find(tag);
  if (it == cancel_times_.end()) return std::nullopt;
  return it->second;
}

std::optional<WatchRequest> ReadingsService::last_request(
    const std::string& tag) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = requests_.find(tag);
  if (it == requests_.end()) return std::nullopt;
  return it->second;
}

std::multimap<std::string, std::string> ReadingsService::last_metadata(
    const std::string& tag) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = metadata_.find(tag);
  return it == metadata_.end() ? std::multimap<std::string, std::string>()
                               : it->second;
}

bool ReadingsServer::ReflectionOn() { return reflection_on.load(); }

ReadingsServer::ReadingsServer(bool reflection) {
  if (reflection && !reflection_on.exchange(true)) {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port_);
  builder.RegisterService(&service_);
  server_ = builder.BuildAndStart();
}

ReadingsServer::~ReadingsServer() {
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(200));
  server_->Wait();
}

void ReadingsServer::SetServing(const std::string& service, bool serving) {
  server_->GetHealthCheckService()->SetServingStatus(service, serving);
}

}  // namespace ssebridge::testing

// A deliberately racy program, run only in the ThreadSanitizer build. It
// races on a plain counter between the main thread and a gRPC client
// reactor's OnReadDone callback — the kind of place our suppressions and
// reactor annotations sit closest to. CTest expects TSan to report it, which
// proves the suppression file and annotations do not hide races in our code.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <thread>

#include "absl/synchronization/notification.h"
#include "common/tsan/annotations.h"
#include "tests/util/test_service.h"

namespace {

int g_unprotected_counter = 0;  // the race: written by two threads

class Reader : public grpc::ClientReadReactor<ssebridge::action::v1::Event> {
 public:
  explicit Reader(ssebridge::action::v1::ActionService::Stub* stub) {
    req_.set_action("tokens");
    (*req_.mutable_params())["n"] = "50";
    stub->async()->Run(&ctx_, &req_, this);
    SSEBRIDGE_TSAN_RELEASE(this);
    StartRead(&ev_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    if (!ok) return;
    ++g_unprotected_counter;  // racy write #1
    SSEBRIDGE_TSAN_RELEASE(this);
    StartRead(&ev_);
  }
  void OnDone(const grpc::Status&) override {
    SSEBRIDGE_TSAN_ACQUIRE(this);
    done_.Notify();
  }
  absl::Notification done_;

 private:
  grpc::ClientContext ctx_;
  ssebridge::action::v1::ActionRequest req_;
  ssebridge::action::v1::Event ev_;
};

}  // namespace

int main() {
  ssebridge::testing::TestServer server;
  auto channel = grpc::CreateChannel(server.target(),
                                     grpc::InsecureChannelCredentials());
  auto stub = ssebridge::action::v1::ActionService::NewStub(channel);
  Reader reader(stub.get());
  for (int i = 0; i < 100000 && !reader.done_.HasBeenNotified(); ++i) {
    ++g_unprotected_counter;  // racy write #2
  }
  reader.done_.WaitForNotification();
  std::printf("counter %d\n", g_unprotected_counter);
  return 0;
}

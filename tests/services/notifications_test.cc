// Unit tests of the notifications service's logic, in-process and without a
// frontend: the replay rule, the store (ids, history bound, ordering of
// replay and live delivery under concurrency), rendering, the demo notifier,
// and the actions through a real gRPC client (the user is the verified
// subject the frontend passes as metadata; anonymous calls are refused).
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/notifications/notification_store.h"
#include "services/notifications/notifications_service.h"
#include "tests/services/service_test_util.h"

namespace ssebridge::services::notifications {
namespace {

using ::ssebridge::testing::CallResult;
using ::ssebridge::testing::MakeRequest;
using ::ssebridge::testing::RunCall;
using ::ssebridge::testing::SignedIn;
using ::ssebridge::testing::StartService;
using ::ssebridge::testing::WaitFor;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

const absl::Time kT = absl::FromCivil(absl::CivilSecond(2026, 3, 4, 5, 6, 7),
                                      absl::UTCTimeZone());

std::deque<Notification> History(uint64_t first, uint64_t last) {
  std::deque<Notification> h;
  for (uint64_t id = first; id <= last; ++id) {
    h.push_back({id, absl::StrCat("n", id), kT});
  }
  return h;
}

std::vector<uint64_t> Ids(const std::vector<Notification>& ns) {
  std::vector<uint64_t> ids;
  for (const auto& n : ns) ids.push_back(n.id);
  return ids;
}

// --- The replay rule. ---

TEST(PlanReplayTest, NoLastIdReplaysNothing) {
  Replay r = PlanReplay(History(1, 5), 5, "");
  EXPECT_FALSE(r.reset);
  EXPECT_THAT(r.notifications, IsEmpty());
}

TEST(PlanReplayTest, KnownIdReplaysWhatFollowsInOrder) {
  EXPECT_THAT(Ids(PlanReplay(History(1, 5), 5, "3").notifications),
              ElementsAre(4, 5));
  EXPECT_THAT(Ids(PlanReplay(History(1, 5), 5, "5").notifications), IsEmpty());
  EXPECT_THAT(Ids(PlanReplay(History(1, 5), 5, "0").notifications),
              ElementsAre(1, 2, 3, 4, 5));
  EXPECT_FALSE(PlanReplay(History(1, 5), 5, "3").reset);
  // The one just before the oldest retained is still complete.
  Replay r = PlanReplay(History(3, 5), 5, "2");
  EXPECT_FALSE(r.reset);
  EXPECT_THAT(Ids(r.notifications), ElementsAre(3, 4, 5));
  // Nothing stored yet, and the client saw nothing either.
  EXPECT_FALSE(PlanReplay({}, 0, "0").reset);
}

TEST(PlanReplayTest, UnknownTooOldOrMalformedIdResets) {
  for (const char* id : {"6", "99999999999999999999999", "abc", "-1", "+3",
                         " 3", "3.0", "0x3"}) {
    Replay r = PlanReplay(History(1, 5), 5, id);
    EXPECT_TRUE(r.reset) << id;
    EXPECT_THAT(Ids(r.notifications), ElementsAre(1, 2, 3, 4, 5)) << id;
  }
  // Evicted: ids 1..2 are gone, so after "1" something was lost.
  Replay old = PlanReplay(History(3, 5), 5, "1");
  EXPECT_TRUE(old.reset);
  EXPECT_THAT(Ids(old.notifications), ElementsAre(3, 4, 5));
  // A restarted service knows nothing of id 7.
  Replay restarted = PlanReplay({}, 0, "7");
  EXPECT_TRUE(restarted.reset);
  EXPECT_THAT(restarted.notifications, IsEmpty());
}

// --- The store. ---

TEST(NotificationStoreTest, IdsArePerUserAndHistoryIsBounded) {
  NotificationStore store(/*history_limit=*/3);
  EXPECT_EQ(store.Add("ann", "a1", kT).id, 1u);
  EXPECT_EQ(store.Add("ann", "a2", kT).id, 2u);
  EXPECT_EQ(store.Add("bob", "b1", kT).id, 1u);
  for (int i = 3; i <= 6; ++i) store.Add("ann", absl::StrCat("a", i), kT);
  EXPECT_THAT(Ids(store.History("ann")), ElementsAre(4, 5, 6));
  EXPECT_EQ(store.History("ann")[0].text, "a4");
  EXPECT_THAT(Ids(store.History("bob")), ElementsAre(1));
  EXPECT_THAT(store.History("nobody"), IsEmpty());
}

TEST(NotificationStoreTest, SubscribeReplaysThenDeliversLive) {
  NotificationStore store;
  for (int i = 1; i <= 4; ++i) store.Add("ann", absl::StrCat("a", i), kT);
  std::vector<uint64_t> got;
  bool reset = true;
  auto id = store.Subscribe(
      "ann", "2",
      [&](const Replay& r) {
        reset = r.reset;
        for (const auto& n : r.notifications) got.push_back(n.id);
      },
      [&](const Notification& n) {
        got.push_back(n.id);
        return true;
      });
  EXPECT_FALSE(reset);
  store.Add("ann", "a5", kT);
  store.Add("bob", "b1", kT);  // another user: not delivered
  EXPECT_THAT(got, ElementsAre(3, 4, 5));
  EXPECT_EQ(store.SubscriberCount("ann"), 1u);
  store.Unsubscribe("ann", id);
  store.Add("ann", "a6", kT);
  EXPECT_THAT(got, ElementsAre(3, 4, 5));
  EXPECT_EQ(store.SubscriberCount("ann"), 0u);
}

TEST(NotificationStoreTest, HandlerReturningFalseIsDropped) {
  NotificationStore store;
  int calls = 0;
  store.Subscribe(
      "ann", "", [](const Replay&) {},
      [&](const Notification&) {
        ++calls;
        return false;
      });
  store.Add("ann", "1", kT);
  store.Add("ann", "2", kT);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(store.SubscriberCount("ann"), 0u);
}

TEST(NotificationStoreTest, UsersAreBoundedLeastRecentlyUsedIdleFirst) {
  NotificationStore store(/*history_limit=*/10, /*max_users=*/3);
  store.Add("ann", "a1", kT);
  store.Add("bob", "b1", kT);
  auto sub = store.Subscribe(
      "cat", "", [](const Replay&) {},
      [](const Notification&) { return true; });
  store.Add("ann", "a2", kT);  // ann is now more recent than bob
  store.Add("dan", "d1", kT);  // over the bound: bob, the oldest idle, goes
  EXPECT_EQ(store.UserCount(), 3u);
  EXPECT_THAT(store.History("bob"), IsEmpty());  // (reading is a use too)
  store.Add("eve", "e1", kT);  // cat is older but subscribed: ann goes
  EXPECT_THAT(store.History("ann"), IsEmpty());
  EXPECT_EQ(store.SubscriberCount("cat"), 1u);
  // A forgotten user starts again, and a reconnect to it is told to reset.
  EXPECT_EQ(store.Add("bob", "b2", kT).id, 1u);
  bool reset = false;
  store.Subscribe(
      "ann", "2", [&](const Replay& r) { reset = r.reset; },
      [](const Notification&) { return true; });
  EXPECT_TRUE(reset);
  // Every user subscribed: the bound is passed rather than drop a live one.
  store.Unsubscribe("cat", sub);
  for (const char* u : {"f", "g", "h", "i"}) {
    store.Subscribe(
        u, "", [](const Replay&) {}, [](const Notification&) { return true; });
  }
  EXPECT_GE(store.UserCount(), 4u);
  for (const char* u : {"f", "g", "h", "i"}) {
    EXPECT_EQ(store.SubscriberCount(u), 1u) << u;
  }
}

// Subscribers join while a writer adds notifications: each one's sequence
// (replay, then live) must run without gaps or repeats from where it
// started to the end.
TEST(NotificationStoreTest, ReplayAndLiveNeverOverlapOrLeaveGaps) {
  constexpr int kAdds = 2000, kSubscribers = 40;
  NotificationStore store(/*history_limit=*/kAdds);
  struct Sub {
    std::mutex mu;
    std::vector<uint64_t> ids;
    std::string start;
  };
  std::vector<std::unique_ptr<Sub>> subs;
  std::atomic<bool> go{false};
  std::thread writer([&] {
    while (!go) std::this_thread::yield();
    for (int i = 0; i < kAdds; ++i) store.Add("ann", "x", kT);
  });
  go = true;
  for (int i = 0; i < kSubscribers; ++i) {
    auto sub = std::make_unique<Sub>();
    Sub* s = sub.get();
    // Resume from what has been stored so far (or from nothing).
    const auto history = store.History("ann");
    s->start = history.empty() ? "" : absl::StrCat(history.back().id / 2);
    store.Subscribe(
        "ann", s->start,
        [s](const Replay& r) {
          std::lock_guard<std::mutex> lock(s->mu);
          EXPECT_FALSE(r.reset);
          for (const auto& n : r.notifications) s->ids.push_back(n.id);
        },
        [s](const Notification& n) {
          std::lock_guard<std::mutex> lock(s->mu);
          s->ids.push_back(n.id);
          return true;
        });
    subs.push_back(std::move(sub));
  }
  writer.join();
  for (auto& s : subs) {
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->ids.empty()) continue;  // joined after the last add, no last id
    uint64_t first = s->start.empty() ? s->ids.front() : 0;
    if (!s->start.empty()) first = std::stoull(s->start) + 1;
    std::vector<uint64_t> want;
    for (uint64_t id = first; id <= kAdds; ++id) want.push_back(id);
    EXPECT_THAT(s->ids, ElementsAreArray(want)) << "start " << s->start;
  }
}

// --- Rendering. ---

TEST(RenderTest, NotificationHtmlEscapesTextAndShowsTime) {
  EXPECT_EQ(NotificationHtml({7, "<b>Deploy</b> & co", kT}).str(),
            "<li class=\"notification\">&lt;b&gt;Deploy&lt;/b&gt; &amp; co "
            "<time datetime=\"2026-03-04T05:06:07Z\">05:06:07</time></li>");
}

TEST(DemoNotifierTest, PostsGeneratedNotificationsPeriodically) {
  NotificationStore store;
  {
    DemoNotifier demo(&store, absl::Milliseconds(5), "demo");
    ASSERT_TRUE(WaitFor([&] { return store.History("demo").size() >= 3; }));
  }  // stops the thread
  const auto history = store.History("demo");
  EXPECT_EQ(history[0].text, DemoText(1));
  EXPECT_EQ(history[1].text, DemoText(2));
  EXPECT_EQ(history[2].text, DemoText(3));
  EXPECT_NE(DemoText(1), DemoText(2));
  const size_t after_stop = history.size();
  EXPECT_EQ(store.History("demo").size(), after_stop);
}

// --- The actions, through gRPC. ---

class NotificationsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ =
        std::make_unique<NotificationsService>(&store_, [] { return kT; });
    sdk::ActionServer server;
    service_->Register(server);
    running_ = StartService(server);
    ASSERT_NE(running_, nullptr);
  }
  int port() const { return running_->port(); }

  // What a browser can claim about itself without a token.
  static ssebridge::action::v1::ActionRequest ClaimingToBe(
      ssebridge::action::v1::ActionRequest request, const std::string& user) {
    (*request.mutable_headers())["x-user"] = user;
    (*request.mutable_headers())["cookie"] = "user=" + user;
    (*request.mutable_params())["user"] = user;
    return request;
  }

  NotificationStore store_;
  std::unique_ptr<NotificationsService> service_;
  std::unique_ptr<sdk::RunningServer> running_;
};

TEST_F(NotificationsServiceTest, NotifyAppendsForTheSignedInUserAndSaysSent) {
  CallResult r =
      RunCall(port(), MakeRequest("notify", {{"text", "hi"}}), SignedIn("kim"));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].event(), "sent");
  EXPECT_EQ(r.events[0].html(),
            "<span class=\"sent\" data-id=\"1\">sent</span>");
  // The subject decides, whatever else the request says.
  ASSERT_TRUE(
      RunCall(port(),
              ClaimingToBe(MakeRequest("notify", {{"text", "z"}}), "kim"),
              SignedIn("zed"))
          .status.ok());
  EXPECT_THAT(Ids(store_.History("kim")), ElementsAre(1));
  EXPECT_EQ(store_.History("kim").at(0).text, "hi");
  EXPECT_EQ(store_.History("zed").at(0).text, "z");
  EXPECT_EQ(RunCall(port(), MakeRequest("notify"), SignedIn("kim"))
                .status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  const std::string long_subject(kMaxUserBytes + 1, 's');
  EXPECT_EQ(RunCall(port(), MakeRequest("notify", {{"text", "x"}}),
                    SignedIn(long_subject))
                .status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(RunCall(port(), MakeRequest("notify", {{"text", "x"}}),
                      SignedIn(std::string(kMaxUserBytes, 's')))
                  .status.ok());
}

TEST_F(NotificationsServiceTest, AnonymousCallsAreUnauthenticated) {
  store_.Add("kim", "secret", kT);
  store_.Add("demo", "demo note", kT);
  for (const bool claims_a_user : {false, true}) {
    SCOPED_TRACE(claims_a_user ? "with x-user, cookie and param" : "bare");
    auto request = [&](ssebridge::action::v1::ActionRequest r) {
      return claims_a_user ? ClaimingToBe(std::move(r), "kim") : r;
    };
    ssebridge::action::v1::ActionRequest stream_request =
        request(MakeRequest("notifications"));
    stream_request.set_last_event_id("0");  // would replay everything
    CallResult read = RunCall(port(), stream_request);
    EXPECT_EQ(read.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(read.status.error_message(), "sign in to read notifications");
    EXPECT_THAT(read.events, IsEmpty());

    CallResult sent =
        RunCall(port(), request(MakeRequest("notify", {{"text", "spoof"}})));
    EXPECT_EQ(sent.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(sent.status.error_message(), "sign in to send notifications");
    EXPECT_THAT(sent.events, IsEmpty());

    // An empty subject is no subject.
    EXPECT_EQ(RunCall(port(), request(MakeRequest("notify", {{"text", "e"}})),
                      SignedIn(""))
                  .status.error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_THAT(Ids(store_.History("kim")), ElementsAre(1));
  EXPECT_THAT(Ids(store_.History("demo")), ElementsAre(1));
  EXPECT_EQ(store_.SubscriberCount("kim"), 0u);
  EXPECT_EQ(store_.SubscriberCount("demo"), 0u);
}

TEST_F(NotificationsServiceTest, StreamResetsOnUnknownIdThenGoesLive) {
  store_.Add("kim", "one", kT);
  store_.Add("kim", "two", kT);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = ssebridge::action::v1::ActionService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + ssebridge::testing::kWait));
  context.AddMetadata("x-ssebridge-sub", "kim");
  auto request = MakeRequest("notifications");
  request.set_last_event_id("nonsense");
  auto reader = stub->Run(&context, request);
  ssebridge::action::v1::Event e;
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.event(), "reset");
  EXPECT_EQ(e.html(), "");
  for (const char* want : {"1", "2"}) {
    ASSERT_TRUE(reader->Read(&e));
    EXPECT_EQ(e.event(), "notification");
    EXPECT_EQ(e.id(), want);
  }
  ASSERT_TRUE(WaitFor([&] { return store_.SubscriberCount("kim") == 1; }));
  store_.Add("kim", "three", kT);
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.id(), "3");
  EXPECT_EQ(e.html(), NotificationHtml({3, "three", kT}).str());
  context.TryCancel();
  reader->Finish();
  EXPECT_TRUE(WaitFor([&] { return store_.SubscriberCount("kim") == 0; }))
      << "cancel must unsubscribe";
}

}  // namespace
}  // namespace ssebridge::services::notifications

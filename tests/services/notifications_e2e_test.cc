// End-to-end tests of notifications through a real FrontendServer on
// loopback: resume after a disconnect with the Last-Event-ID header (and
// ?lastEventId=) loses nothing, an unknown id gets "reset" and the retained
// history, and the user is the subject of a verified token (header or
// cookie), never an x-user header.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/notifications/notification_store.h"
#include "services/notifications/notifications_service.h"
#include "spdlog/spdlog.h"
#include "tests/services/service_test_util.h"
#include "tests/util/test_tokens.h"

namespace ssebridge::services::notifications {
namespace {

using ::ssebridge::testing::kWait;
using ::ssebridge::testing::ReadEvents;
using ::ssebridge::testing::SseClient;
using ::ssebridge::testing::WaitFor;
using ::testing::HasSubstr;

// x-user is forwarded to show that the frontend drops it all the same.
constexpr char kRoutes[] = R"(
  - path: /api/notify
    methods: [GET, POST]
    backend: notifications
    auth: required
    forward_headers: [x-user]
  - path: /api/notifications
    backend: notifications
    auth: required
    forward_headers: [x-user]
)";

class NotificationsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::warn);
    store_ = new NotificationStore(/*history_limit=*/200);
    service_ = new NotificationsService(store_);
    sdk::ActionServer server;
    service_->Register(server);
    running_ = ssebridge::testing::StartService(server).release();
    ASSERT_NE(running_, nullptr);
    tokens_ = new ssebridge::testing::TestTokens();
    frontend_ =
        ssebridge::testing::StartFrontend(
            absl::StrCat(ssebridge::testing::FrontendYaml(
                             "notifications", running_->port(), kRoutes),
                         tokens_->AuthYaml()))
            .release();
    ASSERT_NE(frontend_, nullptr);
  }
  static void TearDownTestSuite() {
    if (frontend_ != nullptr) frontend_->Shutdown(absl::Seconds(2));
    delete frontend_;
    delete running_;
    delete service_;
    delete store_;
    delete tokens_;
  }
  void TearDown() override {
    EXPECT_TRUE(WaitFor([] { return frontend_->live_sessions() == 0; }))
        << frontend_->live_sessions() << " sessions alive";
  }

  static int port() { return frontend_->port(); }

  // Notifies `user` through the frontend; true once "sent" and "done" came.
  static bool Notify(const std::string& user, const std::string& text) {
    SseClient c;
    if (!c.Connect(port())) return false;
    if (!c.Post("/api/notify", "application/x-www-form-urlencoded",
                absl::StrCat("text=", text),
                {"Accept: text/event-stream",
                 "Authorization: Bearer " + tokens_->Token(user)})) {
      return false;
    }
    c.ReadToEof(kWait);
    return c.events().size() == 2 && c.events()[0].type == "sent" &&
           c.events()[1].type == "done";
  }

  // Opens the user's notification stream and waits until it is subscribed.
  static std::unique_ptr<SseClient> Open(
      const std::string& user, const std::vector<std::string>& extra = {},
      const std::string& query = "") {
    auto c = std::make_unique<SseClient>();
    const size_t before = store_->SubscriberCount(user);
    std::vector<std::string> headers = extra;
    headers.push_back("Authorization: Bearer " + tokens_->Token(user));
    if (!c->Connect(port()) || !c->Get("/api/notifications" + query, headers) ||
        !WaitFor([&] { return store_->SubscriberCount(user) == before + 1; })) {
      ADD_FAILURE() << "could not subscribe " << user;
    }
    return c;
  }

  static ssebridge::testing::TestTokens* tokens_;
  static NotificationStore* store_;
  static NotificationsService* service_;
  static sdk::RunningServer* running_;
  static frontend::FrontendServer* frontend_;
};

ssebridge::testing::TestTokens* NotificationsE2eTest::tokens_ = nullptr;
NotificationStore* NotificationsE2eTest::store_ = nullptr;
NotificationsService* NotificationsE2eTest::service_ = nullptr;
sdk::RunningServer* NotificationsE2eTest::running_ = nullptr;
frontend::FrontendServer* NotificationsE2eTest::frontend_ = nullptr;

std::vector<std::string> Ids(const SseClient& c) {
  std::vector<std::string> ids;
  for (const auto& e : c.events()) {
    if (e.type == "notification") ids.push_back(e.last_event_id);
  }
  return ids;
}

TEST_F(NotificationsE2eTest, ResumeAfterDisconnectLosesNothing) {
  auto first = Open("kim");
  ASSERT_TRUE(Notify("kim", "one"));
  ASSERT_TRUE(Notify("kim", "two"));
  ASSERT_TRUE(ReadEvents(*first, 2));
  EXPECT_THAT(Ids(*first), ::testing::ElementsAre("1", "2"));
  EXPECT_THAT(first->events()[0].data, HasSubstr(">one <time"));
  const std::string last_id = first->events().back().last_event_id;

  // The browser goes away; three notifications arrive meanwhile.
  first->Close();
  ASSERT_TRUE(WaitFor([] { return store_->SubscriberCount("kim") == 0; }));
  for (const char* text : {"three", "four", "five"}) {
    ASSERT_TRUE(Notify("kim", text));
  }

  // It reconnects with Last-Event-ID: exactly the missed ones, in order,
  // then live ones.
  auto again = Open("kim", {"Last-Event-ID: " + last_id});
  ASSERT_TRUE(ReadEvents(*again, 3));
  ASSERT_TRUE(Notify("kim", "six"));
  ASSERT_TRUE(ReadEvents(*again, 4));
  EXPECT_THAT(Ids(*again), ::testing::ElementsAre("3", "4", "5", "6"));
  ASSERT_EQ(again->events().size(), 4u) << "no reset, nothing else";
  EXPECT_THAT(again->events()[0].data, HasSubstr(">three <time"));
  EXPECT_THAT(again->events()[3].data, HasSubstr(">six <time"));

  // htmx's extension drops the header after an error: ?lastEventId= works too.
  again->Close();
  ASSERT_TRUE(WaitFor([] { return store_->SubscriberCount("kim") == 0; }));
  auto by_query = Open("kim", {}, "?lastEventId=4");
  ASSERT_TRUE(ReadEvents(*by_query, 2));
  EXPECT_THAT(Ids(*by_query), ::testing::ElementsAre("5", "6"));
}

TEST_F(NotificationsE2eTest, UnknownIdGetsResetThenTheHistory) {
  ASSERT_TRUE(Notify("lee", "a"));
  ASSERT_TRUE(Notify("lee", "b"));
  for (const char* id : {"999", "not-a-number"}) {
    auto c = Open("lee", {absl::StrCat("Last-Event-ID: ", id)});
    ASSERT_TRUE(ReadEvents(*c, 3)) << id;
    EXPECT_EQ(c->events()[0].type, "reset") << id;
    EXPECT_EQ(c->events()[0].data, "");
    EXPECT_THAT(Ids(*c), ::testing::ElementsAre("1", "2")) << id;
    c->Close();
    ASSERT_TRUE(WaitFor([] { return store_->SubscriberCount("lee") == 0; }));
  }
}

TEST_F(NotificationsE2eTest, CookieTokenUserAndUsersAreSeparate) {
  // Ann's stream (her token in the cookie, as EventSource sends it) sees
  // Ann's notifications, not Bob's; an x-user header changes nothing.
  auto c = std::make_unique<SseClient>();
  ASSERT_TRUE(c->Connect(port()));
  ASSERT_TRUE(
      c->Get("/api/notifications",
             {"Cookie: theme=dark; ssebridge_token=" + tokens_->Token("ann"),
              "X-User: bob"}));
  ASSERT_TRUE(WaitFor([] { return store_->SubscriberCount("ann") == 1; }));
  ASSERT_TRUE(Notify("bob", "for bob"));
  ASSERT_TRUE(Notify("ann", "for <ann>"));
  ASSERT_TRUE(ReadEvents(*c, 1));
  ASSERT_EQ(c->events().size(), 1u);
  EXPECT_EQ(c->events()[0].type, "notification");
  EXPECT_THAT(c->events()[0].data, HasSubstr("for &lt;ann&gt;"));
}

TEST_F(NotificationsE2eTest, NoTokenNoInboxWhateverTheHeadersSay) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/api/notifications", {"X-User: ann", "Cookie: user=ann"}));
  ASSERT_TRUE(c.ReadHead());
  EXPECT_EQ(c.status(), 401);
  EXPECT_EQ(store_->SubscriberCount("ann"), 0u);
}

}  // namespace
}  // namespace ssebridge::services::notifications

// End-to-end tests of chat_bot through a real FrontendServer on loopback:
// an in-process chat_bot ActionServer, the frontend configured from YAML,
// and raw-socket HTTP clients that parse SSE like a browser.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/chat_bot/bot.h"
#include "services/chat_bot/chat_service.h"
#include "services/chat_bot/room_bus.h"
#include "spdlog/spdlog.h"
#include "tests/services/service_test_util.h"
#include "tests/util/test_tokens.h"

namespace ssebridge::services::chat {
namespace {

using ::ssebridge::testing::CountEvents;
using ::ssebridge::testing::kWait;
using ::ssebridge::testing::ReadEvents;
using ::ssebridge::testing::SseClient;
using ::ssebridge::testing::WaitFor;
using ::testing::HasSubstr;

// As in the demo: who speaks comes from a verified token when there is one
// (auth: optional), else the typed name is shown as a guest's.
constexpr char kRoutes[] = R"(
  - path: /api/chat_form
    methods: [GET, POST]
    backend: chat_bot
    auth: optional
  - path: /api/chat_send
    backend: chat_bot
    auth: optional
  - path: /api/chat_post
    methods: [GET, POST]
    backend: chat_bot
    auth: optional
  - path: /api/chat_stream
    backend: chat_bot
)";

class ChatE2eTest : public ::testing::Test {
 public:
  static std::string Token(const std::string& user) {
    return tokens_->Token(user);
  }

 protected:
  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::warn);
    bus_ = new InProcessRoomBus();
    ChatOptions options;
    options.think_delay = absl::Milliseconds(50);
    options.word_delay = absl::Milliseconds(5);
    chat_ = new ChatService(bus_, options);
    sdk::ActionServer server;
    chat_->Register(server);
    service_ = ssebridge::testing::StartService(server).release();
    ASSERT_NE(service_, nullptr);
    tokens_ = new ssebridge::testing::TestTokens();
    frontend_ = ssebridge::testing::StartFrontend(
                    absl::StrCat(ssebridge::testing::FrontendYaml(
                                     "chat_bot", service_->port(), kRoutes),
                                 tokens_->AuthYaml()))
                    .release();
    ASSERT_NE(frontend_, nullptr);
  }
  static void TearDownTestSuite() {
    if (frontend_ != nullptr) frontend_->Shutdown(absl::Seconds(2));
    delete frontend_;
    delete service_;
    delete chat_;
    delete bus_;
    delete tokens_;
  }
  void TearDown() override {
    // Nothing left behind: every stream closed, every subscription gone.
    EXPECT_TRUE(WaitFor([] { return frontend_->live_sessions() == 0; }))
        << frontend_->live_sessions() << " sessions alive";
    EXPECT_TRUE(WaitFor([] { return bus_->TotalSubscribers() == 0; }))
        << bus_->TotalSubscribers() << " subscribers left";
  }

  static int port() { return frontend_->port(); }

  static ssebridge::testing::TestTokens* tokens_;
  static InProcessRoomBus* bus_;
  static ChatService* chat_;
  static sdk::RunningServer* service_;
  static frontend::FrontendServer* frontend_;
};

ssebridge::testing::TestTokens* ChatE2eTest::tokens_ = nullptr;
InProcessRoomBus* ChatE2eTest::bus_ = nullptr;
ChatService* ChatE2eTest::chat_ = nullptr;
sdk::RunningServer* ChatE2eTest::service_ = nullptr;
frontend::FrontendServer* ChatE2eTest::frontend_ = nullptr;

// Posts `message` to `room` through the frontend, signed in as `user` (a
// token in the Authorization header); true on a "sent" + "done".
bool Post(int port, const std::string& room, const std::string& user,
          const std::string& message) {
  SseClient c;
  if (!c.Connect(port)) return false;
  const std::string body =
      absl::StrCat("room=", UrlEncode(room), "&user=", UrlEncode(user),
                   "&message=", UrlEncode(message));
  if (!c.Post("/api/chat_post", "application/x-www-form-urlencoded", body,
              {"Accept: text/event-stream",
               "Authorization: Bearer " + ChatE2eTest::Token(user)})) {
    return false;
  }
  c.ReadToEof(kWait);
  return c.status() == 200 && c.events().size() == 2 &&
         c.events()[0].type == "sent" && c.events()[1].type == "done";
}

TEST_F(ChatE2eTest, RoomFansOutToFiftySubscribersExactlyOnce) {
  constexpr int kSubscribers = 50;
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < kSubscribers; ++i) {
    auto c = std::make_unique<SseClient>();
    ASSERT_TRUE(c->Connect(port()));
    ASSERT_TRUE(c->Get("/api/chat_stream?room=fan"));
    clients.push_back(std::move(c));
  }
  ASSERT_TRUE(WaitFor([] {
    return bus_->SubscriberCount("fan") == kSubscribers;
  })) << bus_->SubscriberCount("fan");
  ASSERT_TRUE(Post(port(), "fan", "ann", "hello <everyone> & all"));
  // A second post marks the end: once it has arrived, the first cannot
  // arrive again (one room has one order).
  ASSERT_TRUE(Post(port(), "fan", "ann", "marker"));
  const std::string first =
      RoomMessageHtml({"fan", "ann", "hello <everyone> & all", false, {}})
          .str();
  const std::string marker =
      RoomMessageHtml({"fan", "ann", "marker", false, {}}).str();
  for (int i = 0; i < kSubscribers; ++i) {
    SseClient& c = *clients[i];
    ASSERT_TRUE(ReadEvents(c, 2)) << "subscriber " << i;
    EXPECT_EQ(c.status(), 200);
    EXPECT_EQ(c.header("content-type"), "text/event-stream; charset=utf-8");
    ASSERT_EQ(c.events().size(), 2u) << "subscriber " << i;
    EXPECT_EQ(c.events()[0].type, "chat");
    EXPECT_EQ(c.events()[0].data, first);
    EXPECT_EQ(c.events()[1].type, "chat");
    EXPECT_EQ(c.events()[1].data, marker);
  }
  // Leaving unsubscribes.
  clients.clear();
  EXPECT_TRUE(WaitFor([] { return bus_->SubscriberCount("fan") == 0; }));
}

TEST_F(ChatE2eTest, ChatSendStreamsThinkingThenGrowingUpdatesThenDone) {
  SseClient room;
  ASSERT_TRUE(room.Connect(port()));
  ASSERT_TRUE(room.Get("/api/chat_stream?room=talk"));
  ASSERT_TRUE(WaitFor([] { return bus_->SubscriberCount("talk") == 1; }));

  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  // Signed in as ann; the typed name ("mallory") does not count.
  ASSERT_TRUE(c.Get("/api/chat_send?room=talk&user=mallory&message=hello%20bot",
                    {"Authorization: Bearer " + Token("ann")}));
  ASSERT_TRUE(c.ReadToEof(kWait));
  EXPECT_EQ(c.status(), 200);
  const auto& ev = c.events();
  ASSERT_GE(ev.size(), 4u);
  EXPECT_EQ(ev[0].type, "update");
  EXPECT_EQ(ev[0].data, "Bot is thinking...");
  const std::string reply = BotReply("hello bot", absl::Now());
  const std::vector<std::string> words = SplitWords(reply);
  ASSERT_EQ(ev.size(), 1 + words.size() + 1);
  std::string so_far;
  for (size_t i = 0; i < words.size(); ++i) {
    so_far += (i ? " " : "") + words[i];
    EXPECT_EQ(ev[1 + i].type, "update");
    EXPECT_EQ(ev[1 + i].data, BubbleInner("bot", so_far).str());
    if (i > 0) {
      EXPECT_GT(ev[1 + i].data.size(), ev[i].data.size());
    }
  }
  EXPECT_EQ(ev.back().type, "done");

  // The room saw the question and the whole answer.
  ASSERT_TRUE(ReadEvents(room, 2));
  EXPECT_EQ(room.events()[0].data,
            RoomMessageHtml({"talk", "ann", "hello bot", false, {}}).str());
  EXPECT_EQ(room.events()[1].data,
            RoomMessageHtml({"talk", "bot", reply, true, {}}).str());
}

TEST_F(ChatE2eTest, ChatFormPostWithoutEventStreamGetsOneHtmlBody) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  // What htmx's hx-post sends: a form body, Accept without text/event-stream.
  ASSERT_TRUE(c.Post("/api/chat_form", "application/x-www-form-urlencoded",
                     "message=hi+%3Cthere%3E&room=lobby&user=ann",
                     {"Accept: */*", "HX-Request: true"}));
  ASSERT_TRUE(c.ReadUntil(
      [&] {
        return c.status() != 0 &&
               c.raw_body().size() >= static_cast<size_t>(std::atoi(
                                          c.header("content-length").c_str()));
      },
      kWait));
  EXPECT_EQ(c.status(), 200);
  EXPECT_THAT(c.header("content-type"), HasSubstr("text/html"));
  // Anonymous: the typed name is shown as a guest's.
  const std::string fragment =
      ChatFormHtml("lobby", "guest:ann", "ann", "hi <there>").str();
  EXPECT_EQ(absl::StripTrailingAsciiWhitespace(c.raw_body()), fragment);
  EXPECT_THAT(c.raw_body(),
              HasSubstr("sse-connect=\"/api/chat_send?room=lobby&amp;user=ann"
                        "&amp;message=hi%20%3Cthere%3E\""));
}

TEST_F(ChatE2eTest, ChatPostRejectsAnEmptyMessage) {
  SseClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Get("/api/chat_post?room=lobby&message="));
  c.ReadToEof(kWait);
  // Either a plain 400 (before the stream starts) or an SSE error event.
  EXPECT_TRUE(c.status() == 400 || CountEvents(c, "error") == 1)
      << c.status() << "\n"
      << c.raw_body();
  EXPECT_EQ(CountEvents(c, "sent"), 0u);
}

}  // namespace
}  // namespace ssebridge::services::chat

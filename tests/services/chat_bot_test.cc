// Unit tests of the chat_bot service's logic, in-process and without a
// frontend: the bot's rules, the room bus, the rendered HTML, who a message
// is from (the verified name, or a marked guest), and the actions through a
// real gRPC client against an in-process ActionServer.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/chat_bot/bot.h"
#include "services/chat_bot/chat_service.h"
#include "services/chat_bot/room_bus.h"
#include "tests/services/service_test_util.h"

namespace ssebridge::services::chat {
namespace {

using ::ssebridge::testing::CallResult;
using ::ssebridge::testing::MakeRequest;
using ::ssebridge::testing::RunCall;
using ::ssebridge::testing::SignedIn;
using ::ssebridge::testing::StartService;
using ::ssebridge::testing::WaitFor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const absl::Time kNoon = absl::FromCivil(
    absl::CivilSecond(2026, 1, 2, 12, 34, 56), absl::UTCTimeZone());

// --- The bot. ---

TEST(BotTest, Greetings) {
  for (const char* m :
       {"hello", "Hi there!", "hey bot", "Good morning", "HOWDY"}) {
    EXPECT_THAT(BotReply(m, kNoon), StartsWith("Hello! I am the sse-bridge"))
        << m;
  }
  // "high" is not "hi", "goodbye" is not "good morning".
  EXPECT_THAT(BotReply("high hopes", kNoon), Not(StartsWith("Hello!")));
}

TEST(BotTest, Help) {
  for (const char* m : {"help", "Help me please", "?", "list commands"}) {
    EXPECT_THAT(BotReply(m, kNoon), StartsWith("I understand greetings")) << m;
  }
}

TEST(BotTest, TimeQuestionUsesTheClock) {
  EXPECT_EQ(BotReply("What time is it?", kNoon), "It is 12:34:56 UTC.");
  EXPECT_EQ(BotReply("hi, what's the time", kNoon), "It is 12:34:56 UTC.");
  EXPECT_EQ(BotReply("time", kNoon + absl::Seconds(4)), "It is 12:35:00 UTC.");
}

TEST(BotTest, Thanks) {
  EXPECT_EQ(BotReply("thanks a lot", kNoon), "You're welcome!");
  EXPECT_EQ(BotReply("Thank you", kNoon), "You're welcome!");
}

TEST(BotTest, EchoesKeywords) {
  EXPECT_EQ(BotReply("I really like Server-Sent Events with htmx", kNoon),
            "You mentioned server, sent and events. Tell me more!");
  EXPECT_EQ(BotReply("streaming streaming!", kNoon),
            "You mentioned streaming. Tell me more!");
  EXPECT_EQ(BotReply("<script>alert</script>", kNoon),
            "You mentioned script and alert. Tell me more!");
}

TEST(BotTest, FallbackAndEmpty) {
  EXPECT_THAT(BotReply("ok", kNoon), StartsWith("I see."));
  EXPECT_THAT(BotReply("", kNoon), StartsWith("Say something"));
  EXPECT_THAT(BotReply("  !!  ", kNoon), StartsWith("Say something"));
}

TEST(BotTest, Deterministic) {
  for (const char* m : {"hello", "what time", "random words here", ""}) {
    EXPECT_EQ(BotReply(m, kNoon), BotReply(m, kNoon));
  }
}

TEST(BotTest, TokenizeKeywordsAndWords) {
  EXPECT_THAT(Tokenize("Hé, World-2!"), ElementsAre("hé", "world", "2"));
  EXPECT_THAT(Keywords("This is about streams and STREAMS and more pipes",
                       /*max=*/5),
              ElementsAre("streams", "pipes"));
  EXPECT_THAT(SplitWords(" It  is 12:00 UTC. "),
              ElementsAre("It", "is", "12:00", "UTC."));
}

// --- The room bus. ---

TEST(RoomBusTest, FansOutToTheRoomOnlyExactlyOnce) {
  InProcessRoomBus bus;
  std::vector<int> got(4, 0);
  std::vector<RoomBus::SubscriberId> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(bus.Subscribe("a", [&got, i](const ChatMessage& m) {
      EXPECT_EQ(m.text, "hi");
      ++got[i];
    }));
  }
  bus.Subscribe("b", [&got](const ChatMessage&) { ++got[3]; });
  EXPECT_EQ(bus.SubscriberCount("a"), 3u);
  EXPECT_EQ(bus.TotalSubscribers(), 4u);
  bus.Publish({"a", "ann", "hi", false, kNoon});
  EXPECT_THAT(got, ElementsAre(1, 1, 1, 0));
  bus.Publish({"nobody", "ann", "x", false, kNoon});  // no such room: no-op
  bus.Unsubscribe("a", ids[1]);
  bus.Unsubscribe("a", ids[1]);    // twice: ignored
  bus.Unsubscribe("zzz", ids[0]);  // wrong room: ignored
  bus.Publish({"a", "ann", "hi", false, kNoon});
  EXPECT_THAT(got, ElementsAre(2, 1, 2, 0));
  EXPECT_EQ(bus.RoomCount(), 2u);
  bus.Unsubscribe("a", ids[0]);
  bus.Unsubscribe("a", ids[2]);
  EXPECT_EQ(bus.RoomCount(), 1u) << "an empty room is dropped";
  EXPECT_EQ(bus.SubscriberCount("a"), 0u);
}

TEST(RoomBusTest, HandlerMayUnsubscribeItselfWhilePublishing) {
  InProcessRoomBus bus;
  int calls = 0;
  auto id = std::make_shared<RoomBus::SubscriberId>();
  *id = bus.Subscribe("r", [&, id](const ChatMessage&) {
    ++calls;
    bus.Unsubscribe("r", *id);
  });
  bus.Publish({"r", "u", "1", false, kNoon});
  bus.Publish({"r", "u", "2", false, kNoon});
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(bus.TotalSubscribers(), 0u);
}

TEST(RoomBusTest, ConcurrentPublishersAllSubscribersSeeOneOrder) {
  InProcessRoomBus bus;
  constexpr int kSubscribers = 10, kThreads = 4, kPerThread = 200;
  std::vector<std::vector<std::string>> seen(kSubscribers);
  for (int i = 0; i < kSubscribers; ++i) {
    // Calls for one room never overlap (publishes are serialised).
    bus.Subscribe(
        "r", [&seen, i](const ChatMessage& m) { seen[i].push_back(m.text); });
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&bus, t] {
      for (int k = 0; k < kPerThread; ++k) {
        bus.Publish({"r", "u", absl::StrCat(t, "-", k), false, kNoon});
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(seen[0].size(), static_cast<size_t>(kThreads * kPerThread));
  for (int i = 1; i < kSubscribers; ++i) EXPECT_EQ(seen[i], seen[0]);
}

// --- Rendering. ---

TEST(ChatHtmlTest, UrlEncode) {
  EXPECT_EQ(UrlEncode("a b&c=d/é?~-_."), "a%20b%26c%3Dd%2F%C3%A9%3F~-_.");
  EXPECT_EQ(UrlEncode(""), "");
}

TEST(ChatHtmlTest, ChatFormEscapesBubbleAndAttribute) {
  EXPECT_EQ(ChatSendUrl("my room", "<ann>", "a&b=\"c\""),
            "/api/chat_send?room=my%20room&user=%3Cann%3E"
            "&message=a%26b%3D%22c%22");
  EXPECT_EQ(
      ChatFormHtml("lobby", "<ann>", "hi & <b>bye</b>").str(),
      "<div class=\"msg user\"><span class=\"who\">&lt;ann&gt;</span> "
      "<span class=\"text\">hi &amp; &lt;b&gt;bye&lt;/b&gt;</span></div>"
      "<div class=\"msg bot\" hx-ext=\"sse\" sse-connect=\"/api/chat_send?"
      "room=lobby&amp;user=%3Cann%3E&amp;message=hi%20%26%20%3Cb%3Ebye%3C%2Fb"
      "%3E\" sse-swap=\"update\" sse-close=\"done\">"
      "<span class=\"typing\">&hellip;</span></div>");
  // No message: no user bubble, only the bot bubble.
  EXPECT_THAT(ChatFormHtml("lobby", "ann", "").str(),
              StartsWith("<div class=\"msg bot\""));
  // The bubble shows the author; the URL carries the name as typed.
  const std::string marked =
      ChatFormHtml("lobby", "guest:<ann>", "<ann>", "hi").str();
  EXPECT_THAT(marked,
              HasSubstr("<span class=\"who\">guest:&lt;ann&gt;</span>"));
  EXPECT_THAT(marked, HasSubstr("&amp;user=%3Cann%3E&amp;"));
  EXPECT_THAT(marked, Not(HasSubstr("guest%3A")));
}

// --- Who a message is from. ---

sdk::Request Req(ssebridge::testing::CallMetadata metadata = {}) {
  return sdk::Request(MakeRequest("chat_post"), std::move(metadata));
}

TEST(AuthorNameTest, SignedInUsesTheVerifiedNameAndIgnoresTheTypedOne) {
  EXPECT_EQ(AuthorName(Req(SignedIn("u-17", {{"name", "Kim Lee"}})), "ann"),
            "Kim Lee");
  EXPECT_EQ(AuthorName(Req(SignedIn("u-17")), "ann"), "u-17");
  EXPECT_EQ(AuthorName(Req(SignedIn("u-17", {{"name", ""}})), "ann"), "u-17");
  // Kept short, and never cut inside a UTF-8 character.
  const std::string a63(kMaxNameBytes - 1, 'a');
  EXPECT_EQ(AuthorName(Req(SignedIn("u", {{"name", a63 + "\xc3\xa9x"}})), ""),
            a63);
  EXPECT_EQ(AuthorName(Req(SignedIn(std::string(100, 's'))), ""),
            std::string(kMaxNameBytes, 's'));
}

TEST(AuthorNameTest, AnonymousIsAMarkedGuest) {
  EXPECT_EQ(AuthorName(Req(), "ann"), "guest:ann");
  EXPECT_EQ(AuthorName(Req(), "Kim Lee"), "guest:Kim Lee");
  EXPECT_EQ(AuthorName(Req(), "guest:ann"), "guest:guest:ann");
  EXPECT_EQ(AuthorName(Req(), "guest"), "guest");
  EXPECT_EQ(AuthorName(Req(), ""), "guest");
  // A header or a claim-looking param is no identity.
  auto request = MakeRequest("chat_post", {{"x-ssebridge-sub", "kim"}});
  (*request.mutable_headers())["x-user"] = "kim";
  (*request.mutable_headers())["x-ssebridge-sub"] = "kim";
  EXPECT_EQ(AuthorName(sdk::Request(request), "kim"), "guest:kim");
}

TEST(ChatHtmlTest, RoomMessage) {
  EXPECT_EQ(RoomMessageHtml({"r", "<u>", "a<b", false, kNoon}).str(),
            "<div class=\"msg user\"><span class=\"who\">&lt;u&gt;</span> "
            "<span class=\"text\">a&lt;b</span></div>");
  EXPECT_THAT(RoomMessageHtml({"r", "bot", "x", true, kNoon}).str(),
              StartsWith("<div class=\"msg bot\">"));
}

TEST(ChatHtmlTest, Validation) {
  EXPECT_TRUE(ValidateChatParams("m", "r", "u").ok());
  EXPECT_FALSE(
      ValidateChatParams(std::string(kMaxMessageBytes + 1, 'x'), "r", "u")
          .ok());
  EXPECT_FALSE(
      ValidateChatParams("m", std::string(kMaxNameBytes + 1, 'r'), "u").ok());
  EXPECT_FALSE(
      ValidateChatParams("m", "r", std::string(kMaxNameBytes + 1, 'u')).ok());
}

// --- The actions, through gRPC. ---

class ChatServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ChatOptions options;
    options.think_delay = absl::Milliseconds(20);
    options.word_delay = absl::Milliseconds(1);
    options.clock = [] { return kNoon; };
    chat_ = std::make_unique<ChatService>(&bus_, options);
    sdk::ActionServer server;
    chat_->Register(server);
    running_ = StartService(server);
    ASSERT_NE(running_, nullptr);
  }
  void TearDown() override {
    running_.reset();  // cancels open calls: their subscriptions end
    EXPECT_EQ(bus_.TotalSubscribers(), 0u);
  }
  int port() const { return running_->port(); }

  InProcessRoomBus bus_;
  std::unique_ptr<ChatService> chat_;
  std::unique_ptr<sdk::RunningServer> running_;
};

TEST_F(ChatServiceTest, ChatFormSendsOneFragment) {
  CallResult r = RunCall(
      port(), MakeRequest("chat_form", {{"message", "hi"}, {"user", "ann"}}));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].event(), "");
  EXPECT_EQ(r.events[0].html(),
            ChatFormHtml("lobby", "guest:ann", "ann", "hi").str());
  r = RunCall(port(),
              MakeRequest("chat_form", {{"message", "hi"}, {"user", "ann"}}),
              SignedIn("u-17", {{"name", "Kim"}}));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].html(),
            ChatFormHtml("lobby", "Kim", "ann", "hi").str());
}

TEST_F(ChatServiceTest, ChatSendThinksThenGrowsTheReplyAndPostsToTheRoom) {
  std::mutex mu;
  std::vector<ChatMessage> room;
  const auto id = bus_.Subscribe("r1", [&](const ChatMessage& m) {
    std::lock_guard<std::mutex> lock(mu);
    room.push_back(m);
  });
  CallResult r = RunCall(port(), MakeRequest("chat_send", {{"message", "Hello"},
                                                           {"room", "r1"},
                                                           {"user", "ann"}}));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const std::string reply = BotReply("Hello", kNoon);
  const std::vector<std::string> words = SplitWords(reply);
  ASSERT_EQ(r.events.size(), 1 + words.size());
  EXPECT_EQ(r.events[0].event(), "update");
  EXPECT_EQ(r.events[0].text(), "Bot is thinking...");
  std::string so_far;
  for (size_t i = 0; i < words.size(); ++i) {
    so_far += (i ? " " : "") + words[i];
    EXPECT_EQ(r.events[1 + i].event(), "update");
    EXPECT_EQ(r.events[1 + i].html(), BubbleInner("bot", so_far).str());
  }
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(room.size(), 2u);
  EXPECT_EQ(room[0].user, "guest:ann");  // anonymous
  EXPECT_EQ(room[0].text, "Hello");
  EXPECT_FALSE(room[0].from_bot);
  EXPECT_EQ(room[1].user, "bot");
  EXPECT_EQ(room[1].text, reply);
  EXPECT_TRUE(room[1].from_bot);
  bus_.Unsubscribe("r1", id);
}

TEST_F(ChatServiceTest, ChatSendWithoutMessagePostsOnlyTheReply) {
  int posts = 0;
  auto id = bus_.Subscribe("lobby", [&](const ChatMessage& m) {
    ++posts;
    EXPECT_TRUE(m.from_bot);
  });
  CallResult r = RunCall(port(), MakeRequest("chat_send"));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(posts, 1);
  bus_.Unsubscribe("lobby", id);
}

TEST_F(ChatServiceTest, SignedInMessagesCarryTheVerifiedName) {
  std::mutex mu;
  std::vector<ChatMessage> room;
  const auto id = bus_.Subscribe("r2", [&](const ChatMessage& m) {
    std::lock_guard<std::mutex> lock(mu);
    if (!m.from_bot) room.push_back(m);
  });
  // The typed name is ignored, even one over the limit.
  const std::string long_user(kMaxNameBytes + 1, 'u');
  ASSERT_TRUE(RunCall(port(),
                      MakeRequest("chat_send", {{"message", "Hello"},
                                                {"room", "r2"},
                                                {"user", long_user}}),
                      SignedIn("u-17", {{"name", "Kim Lee"}}))
                  .status.ok());
  ASSERT_TRUE(RunCall(port(),
                      MakeRequest("chat_post", {{"message", "<b>yo</b>"},
                                                {"room", "r2"},
                                                {"user", "Kim Lee"}}),
                      SignedIn("u-18"))
                  .status.ok());
  ASSERT_TRUE(RunCall(port(), MakeRequest("chat_post", {{"message", "me too"},
                                                        {"room", "r2"},
                                                        {"user", "Kim Lee"}}))
                  .status.ok());
  // Anonymous, so the typed name is still checked.
  EXPECT_EQ(RunCall(port(), MakeRequest("chat_post", {{"message", "m"},
                                                      {"room", "r2"},
                                                      {"user", long_user}}))
                .status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(room.size(), 3u);
  EXPECT_EQ(room[0].user, "Kim Lee");
  EXPECT_EQ(room[1].user, "u-18");
  EXPECT_EQ(room[2].user, "guest:Kim Lee");
  EXPECT_EQ(RoomMessageHtml(room[2]).str(),
            "<div class=\"msg user\"><span class=\"who\">guest:Kim Lee</span> "
            "<span class=\"text\">me too</span></div>");
  bus_.Unsubscribe("r2", id);
}

TEST_F(ChatServiceTest, BadParamsAreInvalidArgument) {
  EXPECT_EQ(RunCall(port(), MakeRequest("chat_post")).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT)
      << "empty message";
  const std::string long_room(kMaxNameBytes + 1, 'r');
  for (const char* action :
       {"chat_form", "chat_send", "chat_post", "chat_stream"}) {
    EXPECT_EQ(RunCall(port(), MakeRequest(action, {{"message", "m"},
                                                   {"room", long_room}}))
                  .status.error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << action;
  }
}

TEST_F(ChatServiceTest, ChatStreamDeliversPostsAndUnsubscribesOnCancel) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = ssebridge::action::v1::ActionService::NewStub(channel);
  constexpr int kStreams = 3;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<ssebridge::action::v1::Event>>>
      readers;
  for (int i = 0; i < kStreams; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(
        absl::ToChronoTime(absl::Now() + ssebridge::testing::kWait));
    readers.push_back(stub->Run(contexts.back().get(),
                                MakeRequest("chat_stream", {{"room", "s"}})));
  }
  ASSERT_TRUE(WaitFor([&] { return bus_.SubscriberCount("s") == kStreams; }));
  CallResult post = RunCall(
      port(),
      MakeRequest("chat_post",
                  {{"message", "<hey>"}, {"room", "s"}, {"user", "zed"}}));
  ASSERT_TRUE(post.status.ok());
  ASSERT_EQ(post.events.size(), 1u);
  EXPECT_EQ(post.events[0].event(), "sent");
  EXPECT_THAT(post.events[0].html(), HasSubstr("sent"));
  for (auto& reader : readers) {
    ssebridge::action::v1::Event e;
    ASSERT_TRUE(reader->Read(&e));
    EXPECT_EQ(e.event(), "chat");
    EXPECT_EQ(e.html(),
              RoomMessageHtml({"s", "guest:zed", "<hey>", false, kNoon}).str());
  }
  contexts[0]->TryCancel();
  EXPECT_FALSE(readers[0]->Finish().ok());
  EXPECT_TRUE(WaitFor([&] {
    return bus_.SubscriberCount("s") == kStreams - 1;
  })) << "cancel must unsubscribe";
  for (int i = 1; i < kStreams; ++i) contexts[i]->TryCancel();
  for (int i = 1; i < kStreams; ++i) readers[i]->Finish();
  EXPECT_TRUE(WaitFor([&] { return bus_.TotalSubscribers() == 0; }));
}

}  // namespace
}  // namespace ssebridge::services::chat

// RedisRoomBus against a real redis-server started by the test on an
// ephemeral loopback port: rooms shared by two buses (two chat_bot
// replicas), one order for everyone, UNSUBSCRIBE when a room empties, and
// what happens when Redis dies, hangs, or is not there yet: subscriptions
// end with UNAVAILABLE, Publish fails, and everything works again once Redis
// is back. Also the address parser and the wire format.
#include "services/chat_bot/redis_room_bus.h"

#include <signal.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/deploy/deploy_util.h"

namespace ssebridge::services::chat {
namespace {

using ::ssebridge::testing::WaitFor;
using ::ssebridge::testing::deploy::RedisServer;
using ::ssebridge::testing::deploy::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(10);
const absl::Time kNoon = absl::FromUnixSeconds(1700000000);

// What one subscription saw, safe to read from the test thread.
struct Inbox {
  std::mutex mu;
  std::vector<ChatMessage> messages;
  std::vector<absl::Status> closed;

  RoomBus::Handler Handler() {
    return [this](const ChatMessage& m) {
      std::lock_guard<std::mutex> lock(mu);
      messages.push_back(m);
    };
  }
  RoomBus::ClosedHandler OnClosed() {
    return [this](const absl::Status& s) {
      std::lock_guard<std::mutex> lock(mu);
      closed.push_back(s);
    };
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return messages.size();
  }
  size_t closed_count() {
    std::lock_guard<std::mutex> lock(mu);
    return closed.size();
  }
  std::vector<std::string> texts() {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> out;
    for (const auto& m : messages) out.push_back(m.text);
    return out;
  }
};

class RedisRoomBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RedisServer::Binary().empty()) {
      GTEST_SKIP() << "redis-server is not installed; `make deps` installs "
                      "it (Makefile DEB_PACKAGES: redis-server)";
    }
    redis_ = std::make_unique<RedisServer>(dir_.path());
    ASSERT_TRUE(redis_->Start().ok());
  }

  RedisRoomBusOptions Options() const {
    RedisRoomBusOptions o;
    o.host = "127.0.0.1";
    o.port = redis_->port();
    o.channel_prefix = "test:chat:";
    o.min_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(200);
    o.ping_interval = absl::Milliseconds(300);
    return o;
  }

  std::unique_ptr<RedisRoomBus> NewBus() {
    auto bus = std::make_unique<RedisRoomBus>(Options());
    EXPECT_TRUE(bus->WaitConnected(kWait));
    return bus;
  }

  TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
};

TEST(RedisAddressTest, Parses) {
  auto a = ParseRedisAddress("redis:6380");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "redis");
  EXPECT_EQ(a->port, 6380);
  a = ParseRedisAddress("10.1.2.3");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 6379);
  a = ParseRedisAddress("[::1]:7000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 7000);
  RedisRoomBusOptions base;
  base.channel_prefix = "p:";
  a = ParseRedisAddress("h:1", base);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->channel_prefix, "p:");
  for (const char* bad : {"", ":6379", "h:0", "h:65536", "h:x", "[::1"}) {
    EXPECT_FALSE(ParseRedisAddress(bad).ok()) << bad;
  }
}

TEST(RedisWireFormatTest, RoundTripsAnyBytesAndRejectsGarbage) {
  ChatMessage m{"room", std::string("a\n b\0c", 6), "text\nwith 1 2 3\r\n",
                true, kNoon + absl::Microseconds(7)};
  std::optional<ChatMessage> back =
      RedisRoomBus::DecodeMessage("room", RedisRoomBus::EncodeMessage(m));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->room, "room");
  EXPECT_EQ(back->user, m.user);
  EXPECT_EQ(back->text, m.text);
  EXPECT_TRUE(back->from_bot);
  EXPECT_EQ(back->time, m.time);
  for (const char* bad : {"", "hello", "1 0 5 3", "2 0 5 1\nab", "1 x 5 1\nab",
                          "1 0 5 9\nab", "1 0 five 1\nab", "1 0 5 1 1\nab"}) {
    EXPECT_FALSE(RedisRoomBus::DecodeMessage("r", bad).has_value()) << bad;
  }
}

TEST_F(RedisRoomBusTest, MessagePublishedOnOneBusReachesSubscribersOfBoth) {
  std::unique_ptr<RedisRoomBus> a = NewBus();
  std::unique_ptr<RedisRoomBus> b = NewBus();
  Inbox on_a, on_b, other_room;
  a->Subscribe("lobby", on_a.Handler(), on_a.OnClosed());
  b->Subscribe("lobby", on_b.Handler(), on_b.OnClosed());
  b->Subscribe("other", other_room.Handler());
  ASSERT_TRUE(a->WaitRoomReady("lobby", kWait));
  ASSERT_TRUE(b->WaitRoomReady("lobby", kWait));
  EXPECT_EQ(redis_->NumSub("test:chat:lobby"), 2);

  ASSERT_TRUE(a->Publish({"lobby", "ann", "hi from a", false, kNoon}));
  ASSERT_TRUE(
      WaitFor([&] { return on_b.count() == 1 && on_a.count() == 1; }, kWait));
  {
    std::lock_guard<std::mutex> lock(on_b.mu);
    const ChatMessage& got = on_b.messages[0];
    EXPECT_EQ(got.room, "lobby");
    EXPECT_EQ(got.user, "ann");
    EXPECT_EQ(got.text, "hi from a");
    EXPECT_FALSE(got.from_bot);
    EXPECT_EQ(got.time, kNoon);
  }
  // A room without subscribers anywhere: accepted, reaches nobody.
  EXPECT_TRUE(b->Publish({"empty", "x", "y", false, kNoon}));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(other_room.count(), 0u);
  EXPECT_EQ(on_a.closed_count() + on_b.closed_count(), 0u);
}

TEST_F(RedisRoomBusTest, ConcurrentPublishersOnTwoBusesOneOrderEverywhere) {
  std::unique_ptr<RedisRoomBus> a = NewBus();
  std::unique_ptr<RedisRoomBus> b = NewBus();
  constexpr int kPerBus = 200;
  std::vector<std::unique_ptr<Inbox>> inboxes;
  for (int i = 0; i < 6; ++i) {
    inboxes.push_back(std::make_unique<Inbox>());
    (i % 2 == 0 ? a : b)->Subscribe("order", inboxes.back()->Handler());
  }
  ASSERT_TRUE(a->WaitRoomReady("order", kWait));
  ASSERT_TRUE(b->WaitRoomReady("order", kWait));
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (RedisRoomBus* bus : {a.get(), b.get()}) {
    threads.emplace_back([bus, &failed, tag = bus == a.get() ? "a" : "b"] {
      for (int k = 0; k < kPerBus; ++k) {
        if (!bus->Publish({"order", tag, absl::StrCat(tag, k), false, kNoon})) {
          ++failed;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  for (auto& inbox : inboxes) {
    ASSERT_TRUE(WaitFor([&] { return inbox->count() == 2 * kPerBus; }, kWait))
        << inbox->count();
  }
  const std::vector<std::string> first = inboxes[0]->texts();
  for (auto& inbox : inboxes) EXPECT_EQ(inbox->texts(), first);
}

TEST_F(RedisRoomBusTest, LastUnsubscribeLeavesTheChannel) {
  std::unique_ptr<RedisRoomBus> bus = NewBus();
  Inbox one, two;
  const auto id1 = bus->Subscribe("r", one.Handler());
  const auto id2 = bus->Subscribe("r", two.Handler());
  ASSERT_TRUE(bus->WaitRoomReady("r", kWait));
  EXPECT_EQ(bus->SubscriberCount("r"), 2u);
  bus->Unsubscribe("r", id1);
  bus->Unsubscribe("r", id1);    // twice: ignored
  bus->Unsubscribe("zzz", id2);  // wrong room: ignored
  ASSERT_TRUE(bus->Publish({"r", "u", "after one left", false, kNoon}));
  ASSERT_TRUE(WaitFor([&] { return two.count() == 1; }, kWait));
  EXPECT_EQ(one.count(), 0u);
  EXPECT_EQ(redis_->NumSub("test:chat:r"), 1);
  bus->Unsubscribe("r", id2);
  EXPECT_EQ(bus->TotalSubscribers(), 0u);
  EXPECT_TRUE(
      WaitFor([&] { return redis_->NumSub("test:chat:r") == 0; }, kWait));
  EXPECT_FALSE(bus->RoomReady("r"));
  // And back: the room is subscribed again.
  Inbox three;
  bus->Subscribe("r", three.Handler());
  ASSERT_TRUE(bus->WaitRoomReady("r", kWait));
  ASSERT_TRUE(bus->Publish({"r", "u", "again", false, kNoon}));
  EXPECT_TRUE(WaitFor([&] { return three.count() == 1; }, kWait));
}

TEST_F(RedisRoomBusTest, HandlerMayUnsubscribeItselfWhileDelivered) {
  std::unique_ptr<RedisRoomBus> bus = NewBus();
  std::atomic<int> calls{0};
  auto id = std::make_shared<RoomBus::SubscriberId>();
  RedisRoomBus* raw = bus.get();
  *id = bus->Subscribe("self", [&calls, raw, id](const ChatMessage&) {
    ++calls;
    raw->Unsubscribe("self", *id);
  });
  ASSERT_TRUE(bus->WaitRoomReady("self", kWait));
  ASSERT_TRUE(bus->Publish({"self", "u", "1", false, kNoon}));
  ASSERT_TRUE(bus->Publish({"self", "u", "2", false, kNoon}));
  ASSERT_TRUE(WaitFor([&] { return calls.load() == 1; }, kWait));
  EXPECT_TRUE(WaitFor([&] { return bus->TotalSubscribers() == 0; }, kWait));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(RedisRoomBusTest, RedisDownEndsSubscriptionsAndEverythingWorksAfter) {
  std::unique_ptr<RedisRoomBus> a = NewBus();
  std::unique_ptr<RedisRoomBus> b = NewBus();
  Inbox s1, s2, s3;
  a->Subscribe("r1", s1.Handler(), s1.OnClosed());
  a->Subscribe("r2", s2.Handler(), s2.OnClosed());
  b->Subscribe("r1", s3.Handler(), s3.OnClosed());
  ASSERT_TRUE(a->WaitRoomReady("r1", kWait));
  ASSERT_TRUE(b->WaitRoomReady("r1", kWait));
  const int port = redis_->port();

  redis_->Stop();
  ASSERT_TRUE(WaitFor(
      [&] {
        return s1.closed_count() == 1 && s2.closed_count() == 1 &&
               s3.closed_count() == 1;
      },
      kWait));
  for (Inbox* inbox : {&s1, &s2, &s3}) {
    std::lock_guard<std::mutex> lock(inbox->mu);
    EXPECT_EQ(inbox->closed[0].code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(inbox->closed[0].message(),
                HasSubstr("chat rooms unavailable"));
  }
  EXPECT_FALSE(a->Connected());
  EXPECT_EQ(a->TotalSubscribers(), 0u);
  EXPECT_FALSE(a->Publish({"r1", "u", "lost", false, kNoon}));
  // Subscribing now fails at once, through the ClosedHandler.
  Inbox late;
  const auto late_id = a->Subscribe("r1", late.Handler(), late.OnClosed());
  EXPECT_EQ(late.closed_count(), 1u);
  a->Unsubscribe("r1", late_id);  // harmless

  ASSERT_TRUE(redis_->Start(port).ok());
  ASSERT_TRUE(a->WaitConnected(kWait));
  ASSERT_TRUE(b->WaitConnected(kWait));
  EXPECT_GE(a->connections(), 2u);
  Inbox after;
  b->Subscribe("r1", after.Handler(), after.OnClosed());
  ASSERT_TRUE(b->WaitRoomReady("r1", kWait));
  // The publisher's old connection is dead: Publish reconnects (it may need
  // to wait out its backoff first).
  ASSERT_TRUE(WaitFor(
      [&] {
        return a->Publish({"r1", "ann", "back", false, kNoon});
      },
      kWait));
  ASSERT_TRUE(WaitFor([&] { return after.count() == 1; }, kWait));
  EXPECT_THAT(after.texts(), ElementsAre("back"));
  // The ended subscriptions stay ended.
  EXPECT_EQ(s1.count() + s2.count() + s3.count(), 0u);
}

TEST_F(RedisRoomBusTest, HungRedisIsNoticedByPing) {
  std::unique_ptr<RedisRoomBus> bus = NewBus();
  Inbox inbox;
  bus->Subscribe("h", inbox.Handler(), inbox.OnClosed());
  ASSERT_TRUE(bus->WaitRoomReady("h", kWait));
  redis_->Pause();  // the socket stays open; nothing answers
  // ping_interval 300 ms: noticed within ~2 intervals.
  const bool closed = WaitFor([&] { return inbox.closed_count() == 1; }, kWait);
  redis_->Resume();
  ASSERT_TRUE(closed);
  {
    std::lock_guard<std::mutex> lock(inbox.mu);
    EXPECT_THAT(inbox.closed[0].message(), HasSubstr("PING"));
  }
  ASSERT_TRUE(bus->WaitConnected(kWait));
  Inbox again;
  bus->Subscribe("h", again.Handler(), again.OnClosed());
  ASSERT_TRUE(bus->WaitRoomReady("h", kWait));
  ASSERT_TRUE(WaitFor(
      [&] {
        return bus->Publish({"h", "u", "alive", false, kNoon});
      },
      kWait));
  EXPECT_TRUE(WaitFor([&] { return again.count() == 1; }, kWait));
}

// An idle bus (no room subscribed) gets +PONG, not ["pong", ""]: it must
// count as the reply, or the bus drops its connection every two intervals
// and ends any subscription made meanwhile (found by make compose-test).
TEST_F(RedisRoomBusTest, IdleBusKeepsItsConnectionAcrossPings) {
  auto bus = NewBus();
  ASSERT_EQ(bus->connections(), 1u);
  // ping_interval is 300 ms: 2 s is six PINGs answered with +PONG.
  const absl::Time end = absl::Now() + absl::Seconds(2);
  while (absl::Now() < end && bus->connections() == 1) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(bus->connections(), 1u) << "the idle bus reconnected";
  // And a subscription made after idle PINGs lives on.
  std::atomic<int> got{0};
  bus->Subscribe("idle", [&](const ChatMessage&) { ++got; },
                 [](const absl::Status&) {});
  const absl::Time later = absl::Now() + absl::Seconds(1);
  while (absl::Now() < later) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(bus->connections(), 1u);
}

// Making a connection can take far longer than any timeout of ours:
// hiredis resolves the host name with getaddrinfo, and a lost DNS reply
// costs 5 s per try (glibc; up to ~40 s with two nameservers and a search
// domain). Publish used to connect lazily on the caller's thread, so the
// first POST /api/chat_post or chat_send on each chat_bot replica paid for
// it, on a gRPC thread, holding the publisher lock: make compose-test saw
// the POST hang 10-30 s through the edge (issue 19). The bus's own thread
// makes and keeps the publisher connection; Publish only uses it.
TEST_F(RedisRoomBusTest, PublishNeverConnectsOnTheCallersThread) {
  std::atomic<bool> slow{false};
  std::mutex mu;
  std::vector<std::thread::id> connecting_threads;
  RedisRoomBusOptions options = Options();
  options.before_connect = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      connecting_threads.push_back(std::this_thread::get_id());
    }
    if (slow.load()) absl::SleepFor(absl::Seconds(3));
  };
  RedisRoomBus bus(options);
  ASSERT_TRUE(bus.WaitConnected(kWait));
  Inbox inbox;
  bus.Subscribe("fast", inbox.Handler(), inbox.OnClosed());
  ASSERT_TRUE(bus.WaitRoomReady("fast", kWait));
  slow = true;  // from now on every new connection takes 3 s

  absl::Time start = absl::Now();
  EXPECT_TRUE(bus.Publish({"fast", "u", "first post", false, kNoon}));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500))
      << "the first Publish waited for a connection";
  EXPECT_TRUE(WaitFor([&] { return inbox.count() == 1; }, kWait));

  // Redis gone: Publish gives the publisher thread at most connect_timeout
  // to reconnect (3 s here), then says so; it never connects itself.
  redis_->Stop();
  start = absl::Now();
  EXPECT_FALSE(bus.Publish({"fast", "u", "lost", false, kNoon}));
  EXPECT_LT(absl::Now() - start, options.connect_timeout + absl::Milliseconds(500))
      << "Publish waited longer than connect_timeout";

  std::lock_guard<std::mutex> lock(mu);
  for (const std::thread::id& id : connecting_threads) {
    EXPECT_NE(id, std::this_thread::get_id()) << "a connection was made on "
                                                 "the thread calling Publish";
  }
}

// Redis (its `timeout`, a proxy's idle cutoff, CLIENT KILL) may close the
// publisher connection while nobody posts; the subscriber connection stays.
// The next post must still go out (found by review: it got a 503).
TEST_F(RedisRoomBusTest, APublisherClosedWhileIdleIsReplacedForTheNextPost) {
  std::unique_ptr<RedisRoomBus> bus = NewBus();
  Inbox inbox;
  bus->Subscribe("idle", inbox.Handler(), inbox.OnClosed());
  ASSERT_TRUE(bus->WaitRoomReady("idle", kWait));
  ASSERT_TRUE(bus->Publish({"idle", "u", "one", false, kNoon}));
  ASSERT_TRUE(WaitFor([&] { return inbox.count() == 1; }, kWait));
  // Normal clients only: the publisher, not the subscriber (type pubsub).
  absl::StatusOr<std::string> killed =
      redis_->Command({"CLIENT", "KILL", "TYPE", "normal"});
  ASSERT_TRUE(killed.ok()) << killed.status();
  ASSERT_EQ(*killed, "1") << "expected exactly the publisher to be killed";

  absl::Status posted =
      bus->PublishOrError({"idle", "u", "two", false, kNoon});
  EXPECT_TRUE(posted.ok()) << posted;
  EXPECT_TRUE(WaitFor([&] { return inbox.count() == 2; }, kWait));
  EXPECT_EQ(inbox.closed_count(), 0u);
  EXPECT_EQ(bus->connections(), 1u) << "the subscriber was never replaced";
}

// Remaking the publisher may be slow (a lost DNS reply costs 5 s per try);
// meanwhile the subscriber connection must go on (PINGs answered, rooms
// served), not be dropped for a PING it had no time to read (found by
// review: the bus thread itself made the publisher connection).
TEST_F(RedisRoomBusTest, ASlowPublisherReconnectNeverStallsTheSubscriber) {
  std::atomic<bool> slow{false};
  RedisRoomBusOptions options = Options();  // PING every 300 ms
  options.before_connect = [&] {
    if (slow.load()) absl::SleepFor(absl::Seconds(2));
  };
  RedisRoomBus bus(options);
  ASSERT_TRUE(bus.WaitConnected(kWait));
  Inbox inbox;
  bus.Subscribe("stall", inbox.Handler(), inbox.OnClosed());
  ASSERT_TRUE(bus.WaitRoomReady("stall", kWait));
  slow = true;
  ASSERT_TRUE(redis_->Command({"CLIENT", "KILL", "TYPE", "normal"}).ok());
  (void)bus.Publish({"stall", "u", "during", false, kNoon});
  // Another replica posts while the publisher is being remade: it arrives
  // at once, not when the 2 s connect is over.
  RedisRoomBus other(Options());
  ASSERT_TRUE(WaitFor(
      [&] { return other.Publish({"stall", "v", "meanwhile", false, kNoon}); },
      kWait));
  const absl::Time posted = absl::Now();
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const std::string& t : inbox.texts()) {
          if (t == "meanwhile") return true;
        }
        return false;
      },
      absl::Milliseconds(900)))
      << "the room was not served while the publisher reconnected";
  EXPECT_LT(absl::Now() - posted, absl::Seconds(1));
  // For the 2 s the publisher takes to come back (several PING intervals),
  // the subscription stays open and the bus keeps its one connection.
  EXPECT_FALSE(WaitFor([&] { return inbox.closed_count() > 0; },
                       absl::Milliseconds(2500)))
      << "the subscriber connection was dropped";
  EXPECT_EQ(bus.connections(), 1u);
  EXPECT_TRUE(WaitFor(
      [&] { return bus.Publish({"stall", "u", "after", false, kNoon}); },
      kWait));
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const std::string& t : inbox.texts()) {
          if (t == "after") return true;
        }
        return false;
      },
      kWait));
}

TEST_F(RedisRoomBusTest, StartsWithoutRedisAndConnectsWhenItComes) {
  const int port = redis_->port();
  redis_->Stop();
  RedisRoomBus bus(Options());
  EXPECT_FALSE(bus.WaitConnected(absl::Milliseconds(300)));
  Inbox early;
  bus.Subscribe("s", early.Handler(), early.OnClosed());
  EXPECT_EQ(early.closed_count(), 1u);
  EXPECT_FALSE(bus.Publish({"s", "u", "x", false, kNoon}));

  ASSERT_TRUE(redis_->Start(port).ok());
  ASSERT_TRUE(bus.WaitConnected(kWait));
  Inbox inbox;
  bus.Subscribe("s", inbox.Handler(), inbox.OnClosed());
  ASSERT_TRUE(bus.WaitRoomReady("s", kWait));
  ASSERT_TRUE(WaitFor(
      [&] {
        return bus.Publish({"s", "u", "hello", false, kNoon});
      },
      kWait));
  EXPECT_TRUE(WaitFor([&] { return inbox.count() == 1; }, kWait));
}

TEST_F(RedisRoomBusTest, ForeignAndMalformedMessagesAreIgnored) {
  std::unique_ptr<RedisRoomBus> bus = NewBus();
  Inbox inbox;
  bus->Subscribe("m", inbox.Handler(), inbox.OnClosed());
  ASSERT_TRUE(bus->WaitRoomReady("m", kWait));
  ASSERT_TRUE(redis_->Command({"PUBLISH", "test:chat:m", "garbage"}).ok());
  ASSERT_TRUE(bus->Publish({"m", "u", "good", false, kNoon}));
  ASSERT_TRUE(WaitFor([&] { return inbox.count() == 1; }, kWait));
  EXPECT_THAT(inbox.texts(), ElementsAre("good"));
  EXPECT_EQ(inbox.closed_count(), 0u);
  EXPECT_TRUE(bus->Connected());
}

}  // namespace
}  // namespace ssebridge::services::chat

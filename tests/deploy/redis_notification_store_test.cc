// RedisNotificationStore against a real redis-server started by the test on
// an ephemeral loopback port (with requirepass, the password in a file):
// stream ids as SSE ids, order, resume after an id, reset for unknown /
// malformed / trimmed ids, retention, two stores (two replicas) sharing the
// history and the live notifications, AUTH (password and ACL user, wrong
// password), and Redis going away and coming back with the data (AOF).
#include "services/notifications/redis_notification_store.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/redis/redis_connect.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/deploy/deploy_util.h"

namespace ssebridge::services::notifications {
namespace {

using ::ssebridge::testing::WaitFor;
using ::ssebridge::testing::deploy::RedisServer;
using ::ssebridge::testing::deploy::RedisServerOptions;
using ::ssebridge::testing::deploy::TempDir;
using ::ssebridge::testing::deploy::WriteFile;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr absl::Duration kWait = absl::Seconds(10);
constexpr char kPassword[] = "s3cret-for-tests";
const absl::Time kT = absl::FromUnixSeconds(1700000000);

// What one subscriber saw, readable from the test thread. The handlers
// share the data, so a store may still call them after the Inbox is gone.
struct InboxData {
  std::mutex mu;
  bool reset = false;
  std::vector<std::string> texts;
  std::vector<std::string> ids;
  std::vector<absl::Status> closed;
};
struct Inbox {
  std::shared_ptr<InboxData> d = std::make_shared<InboxData>();
  std::mutex& mu = d->mu;
  bool& reset = d->reset;
  std::vector<std::string>& ids = d->ids;
  std::vector<absl::Status>& closed = d->closed;

  std::function<void(const FeedReplay&)> OnReplay() {
    return [d = d](const FeedReplay& r) {
      std::lock_guard<std::mutex> lock(d->mu);
      d->reset = r.reset;
      for (const auto& e : r.entries) {
        d->texts.push_back(e.text);
        d->ids.push_back(e.id);
      }
    };
  }
  NotificationFeed::LiveHandler Live() {
    return [d = d](const FeedEntry& e) {
      std::lock_guard<std::mutex> lock(d->mu);
      d->texts.push_back(e.text);
      d->ids.push_back(e.id);
      return true;
    };
  }
  NotificationFeed::ClosedHandler Closed() {
    return [d = d](const absl::Status& s) {
      std::lock_guard<std::mutex> lock(d->mu);
      d->closed.push_back(s);
    };
  }
  std::vector<std::string> Texts() {
    std::lock_guard<std::mutex> lock(d->mu);
    return d->texts;
  }
  size_t Count() { return Texts().size(); }
  size_t ClosedCount() {
    std::lock_guard<std::mutex> lock(d->mu);
    return d->closed.size();
  }
};

class RedisNotificationStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RedisServer::Binary().empty()) {
      GTEST_SKIP() << "redis-server is not installed; `make deps` installs it";
    }
    redis_ = std::make_unique<RedisServer>(
        dir_.path(), RedisServerOptions{kPassword, /*appendonly=*/true});
    ASSERT_TRUE(redis_->Start().ok());
    password_file_ = dir_.File("redis_password");
    ASSERT_TRUE(WriteFile(password_file_, std::string(kPassword) + "\n"));
  }

  RedisNotificationStoreOptions Options(size_t retention = 200) const {
    RedisNotificationStoreOptions o;
    o.endpoint.host = "127.0.0.1";
    o.endpoint.port = redis_->port();
    EXPECT_TRUE(redis::ReadRedisPasswordFile(password_file_, o.endpoint).ok());
    o.key_prefix = "test:notif:";
    o.retention = retention;
    o.block_timeout = absl::Milliseconds(500);
    o.min_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(200);
    return o;
  }
  std::unique_ptr<RedisNotificationStore> NewStore(size_t retention = 200) {
    auto store = std::make_unique<RedisNotificationStore>(Options(retention));
    EXPECT_TRUE(store->WaitHealthy(kWait)) << store->LastError();
    return store;
  }
  std::string Add(RedisNotificationStore& store, const std::string& user,
                  const std::string& text) {
    absl::StatusOr<FeedEntry> e = store.Append(user, text, kT);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? e->id : "";
  }

  TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
  std::string password_file_;
};

TEST(StreamIdTest, ParsesAndOrders) {
  auto id = StreamId::Parse("1712345678901-7");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->ms, 1712345678901u);
  EXPECT_EQ(id->seq, 7u);
  EXPECT_EQ(id->ToString(), "1712345678901-7");
  EXPECT_EQ(StreamId::Parse("5")->ToString(), "5-0");
  EXPECT_TRUE(*StreamId::Parse("5-1") < *StreamId::Parse("5-2"));
  EXPECT_TRUE(*StreamId::Parse("4-9") < *StreamId::Parse("5-0"));
  for (const char* bad : {"", "-", "1-", "-1", "a-1", "1-a", "1-2-3", " 1", "+",
                          "1.5", "99999999999999999999999-0"}) {
    EXPECT_FALSE(StreamId::Parse(bad).has_value()) << bad;
  }
}

TEST_F(RedisNotificationStoreTest, IdsAreStreamIdsInOrderPerUser) {
  auto store = NewStore();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Add(*store, "ann", "a"));
  Add(*store, "bob", "b");
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(StreamId::Parse(ids[i]).has_value()) << ids[i];
    EXPECT_THAT(ids[i], HasSubstr("-"));
    if (i > 0) {
      EXPECT_TRUE(*StreamId::Parse(ids[i - 1]) < *StreamId::Parse(ids[i]));
    }
  }
  EXPECT_EQ(*redis_->Command({"XLEN", "test:notif:ann"}), "5");
  EXPECT_EQ(*redis_->Command({"XLEN", "test:notif:bob"}), "1");
  // "0": everything from the start, in order, with the stored ids.
  Inbox inbox;
  ASSERT_NE(
      store->Watch("ann", "0", inbox.OnReplay(), inbox.Live(), inbox.Closed()),
      0u);
  EXPECT_FALSE(inbox.reset);
  EXPECT_EQ(inbox.ids, ids);
}

TEST_F(RedisNotificationStoreTest, ResumeAfterIdThenLiveExactlyOnce) {
  auto store = NewStore();
  std::vector<std::string> ids;
  for (int i = 1; i <= 5; ++i) {
    ids.push_back(Add(*store, "ann", absl::StrCat("n", i)));
  }
  Inbox inbox;
  const auto id = store->Watch("ann", ids[1], inbox.OnReplay(), inbox.Live(),
                               inbox.Closed());
  ASSERT_NE(id, 0u);
  EXPECT_FALSE(inbox.reset);
  EXPECT_THAT(inbox.Texts(), ElementsAre("n3", "n4", "n5"));
  Add(*store, "ann", "n6");
  Add(*store, "bob", "not for ann");
  Add(*store, "ann", "n7");
  ASSERT_TRUE(WaitFor([&] { return inbox.Count() >= 5; }, kWait));
  EXPECT_THAT(inbox.Texts(), ElementsAre("n3", "n4", "n5", "n6", "n7"));
  // No last id: only what comes next.
  Inbox fresh;
  ASSERT_NE(
      store->Watch("ann", "", fresh.OnReplay(), fresh.Live(), fresh.Closed()),
      0u);
  EXPECT_THAT(fresh.Texts(), IsEmpty());
  Add(*store, "ann", "n8");
  ASSERT_TRUE(WaitFor([&] { return fresh.Count() >= 1; }, kWait));
  ASSERT_TRUE(WaitFor([&] { return inbox.Count() >= 6; }, kWait));
  EXPECT_THAT(fresh.Texts(), ElementsAre("n8"));
  // Unwatch: no more deliveries.
  store->Unwatch("ann", id);
  EXPECT_EQ(store->SubscriberCount("ann"), 1u);
  Add(*store, "ann", "n9");
  ASSERT_TRUE(WaitFor([&] { return fresh.Count() >= 2; }, kWait));
  EXPECT_EQ(inbox.Count(), 6u);
  EXPECT_EQ(inbox.ClosedCount(), 0u);
}

TEST_F(RedisNotificationStoreTest, UnknownMalformedOrTrimmedIdResets) {
  auto store = NewStore(/*retention=*/10);
  const std::string first = Add(*store, "ann", "first");
  for (int i = 0; i < 20; ++i) Add(*store, "ann", "x");
  // Not trimmed yet (MAXLEN ~ trims whole nodes): the first id still works.
  for (const std::string bad :
       {"nonsense", "12", "99999999999999-0", "1-2-3", "-"}) {
    SCOPED_TRACE(bad);
    Inbox inbox;
    ASSERT_NE(store->Watch("ann", bad, inbox.OnReplay(), inbox.Live(),
                           inbox.Closed()),
              0u);
    EXPECT_TRUE(inbox.reset);
    EXPECT_EQ(inbox.Count(), 21u);  // the whole retained history
  }
  // An unknown user with an id: reset, nothing to replay (like a flushed
  // Redis); "0" is "from the start" and no reset.
  Inbox nobody;
  store->Watch("nobody", "1712345678901-0", nobody.OnReplay(), nobody.Live(),
               nobody.Closed());
  EXPECT_TRUE(nobody.reset);
  EXPECT_EQ(nobody.Count(), 0u);
  Inbox zero;
  store->Watch("nobody", "0", zero.OnReplay(), zero.Live(), zero.Closed());
  EXPECT_FALSE(zero.reset);
  // Past a node's worth of entries, Redis trims: the first id is gone.
  for (int i = 0; i < 300; ++i) Add(*store, "ann", "y");
  int64_t len = 0;
  ASSERT_TRUE(
      absl::SimpleAtoi(*redis_->Command({"XLEN", "test:notif:ann"}), &len));
  EXPECT_LT(len, 200) << "retention 10 with MAXLEN ~";
  EXPECT_GE(len, 10);
  Inbox old;
  store->Watch("ann", first, old.OnReplay(), old.Live(), old.Closed());
  EXPECT_TRUE(old.reset) << "entries after " << first << " were trimmed";
  EXPECT_EQ(static_cast<int64_t>(old.Count()), len);
}

TEST_F(RedisNotificationStoreTest, TwoReplicasShareHistoryAndLiveNotes) {
  auto a = NewStore();
  auto b = NewStore();
  Inbox on_a;
  ASSERT_NE(a->Watch("kim", "", on_a.OnReplay(), on_a.Live(), on_a.Closed()),
            0u);
  const std::string id1 = Add(*b, "kim", "from b");
  const std::string id2 = Add(*a, "kim", "from a");
  ASSERT_TRUE(WaitFor([&] { return on_a.Count() >= 2; }, kWait));
  EXPECT_THAT(on_a.Texts(), ElementsAre("from b", "from a"));
  EXPECT_THAT(on_a.ids, ElementsAre(id1, id2));
  // A client that read id1 through a resumes on b.
  Inbox on_b;
  b->Watch("kim", id1, on_b.OnReplay(), on_b.Live(), on_b.Closed());
  EXPECT_THAT(on_b.Texts(), ElementsAre("from a"));
}

// Replay and live run concurrently with appends from another replica: each
// subscriber's sequence is exactly the stream's, from where it started.
TEST_F(RedisNotificationStoreTest, ReplayAndLiveNeverOverlapOrLeaveGaps) {
  auto writer_store = NewStore(/*retention=*/10000);
  auto reader_store = NewStore(/*retention=*/10000);
  constexpr int kAdds = 400, kSubscribers = 12;
  std::vector<std::string> all;
  std::mutex all_mu;
  std::thread writer([&] {
    for (int i = 0; i < kAdds; ++i) {
      absl::StatusOr<FeedEntry> e =
          writer_store->Append("ann", absl::StrCat(i), kT);
      std::lock_guard<std::mutex> lock(all_mu);
      all.push_back(e.ok() ? e->id : "error");
    }
  });
  std::vector<std::unique_ptr<Inbox>> inboxes;
  std::vector<int> starts;
  for (int s = 0; s < kSubscribers; ++s) {
    std::string from = "0";
    int start = 0;
    {
      std::lock_guard<std::mutex> lock(all_mu);
      if (!all.empty()) {
        start = static_cast<int>(all.size() / 2);
        from = all[start - (start > 0 ? 1 : 0)];
        if (start == 0) from = "0";
      }
    }
    starts.push_back(start);
    auto inbox = std::make_unique<Inbox>();
    ASSERT_NE(reader_store->Watch("ann", from, inbox->OnReplay(), inbox->Live(),
                                  inbox->Closed()),
              0u);
    inboxes.push_back(std::move(inbox));
    absl::SleepFor(absl::Milliseconds(3));  // spread the joins (not a wait)
  }
  writer.join();
  for (int s = 0; s < kSubscribers; ++s) {
    Inbox& inbox = *inboxes[s];
    const size_t want = kAdds - starts[s];
    ASSERT_TRUE(WaitFor([&] { return inbox.Count() >= want; }, kWait))
        << "subscriber " << s << " got " << inbox.Count() << " of " << want;
    std::vector<std::string> expected(all.begin() + starts[s], all.end());
    std::lock_guard<std::mutex> lock(inbox.mu);
    EXPECT_FALSE(inbox.reset);
    EXPECT_THAT(inbox.ids, ElementsAreArray(expected)) << "subscriber " << s;
  }
}

// A second user while the XREAD blocks needs CLIENT UNBLOCK from a second
// connection. Made lazily at that moment, its host name lookup could stall
// (a lost DNS reply: 5 s per try) past the XREAD's deadline: the reader
// then dropped its connection and ended every stream (make compose-test,
// issue 19: the resumed notifications stream got nothing for 30 s). It is
// made together with the reader's own connection instead.
TEST_F(RedisNotificationStoreTest, NewUserGoesLiveWithoutConnectingAgain) {
  std::atomic<bool> slow{false};
  RedisNotificationStoreOptions o = Options();
  o.before_connect = [&] {
    if (slow.load()) absl::SleepFor(absl::Seconds(3));
  };
  RedisNotificationStore store(o);
  ASSERT_TRUE(store.WaitHealthy(kWait)) << store.LastError();
  Inbox ann, bob;
  store.Watch("ann", "", ann.OnReplay(), ann.Live(), ann.Closed());
  Add(store, "ann", "a1");  // the Append connection is made here
  ASSERT_TRUE(WaitFor([&] { return ann.Count() >= 1; }, kWait));
  slow = true;  // from now on every new connection takes 3 s

  store.Watch("bob", "", bob.OnReplay(), bob.Live(), bob.Closed());
  const absl::Time start = absl::Now();
  Add(store, "bob", "b1");
  ASSERT_TRUE(WaitFor([&] { return bob.Count() >= 1; }, kWait));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1))
      << "bob went live only after a new connection";
  Add(store, "ann", "a2");
  ASSERT_TRUE(WaitFor([&] { return ann.Count() >= 2; }, kWait));
  EXPECT_EQ(ann.ClosedCount() + bob.ClosedCount(), 0u)
      << "the reader dropped its connection";
  slow = false;
}

// The command connection (Append, the replay of Watch) is made by its own
// thread, never on the caller's: connecting includes a name lookup that a
// lost DNS reply stalls for 5 s per try (a compose run's notifications
// stream got nothing for 30 s). Closed by Redis while idle, it is remade in
// the background, and an Append right after takes a round trip, not a
// connect.
TEST_F(RedisNotificationStoreTest,
       TheCommandConnectionIsRemadeOffTheCallersThread) {
  std::atomic<bool> slow{false};
  RedisNotificationStoreOptions o = Options();
  o.before_connect = [&] {
    if (slow.load()) absl::SleepFor(absl::Seconds(2));
  };
  RedisNotificationStore store(o);
  ASSERT_TRUE(store.WaitHealthy(kWait)) << store.LastError();
  Add(store, "ann", "a1");
  auto command_client = [&]() -> std::string {  // its CLIENT ID, or ""
    absl::StatusOr<std::string> list = redis_->Command({"CLIENT", "LIST"});
    if (!list.ok()) return "";
    for (absl::string_view line : absl::StrSplit(*list, '\n')) {
      if (!absl::StrContains(line, " cmd=xadd ")) continue;
      absl::string_view id = line.substr(3, line.find(' ') - 3);  // "id=N "
      return std::string(id);
    }
    return "";
  };
  const std::string first = command_client();
  ASSERT_FALSE(first.empty()) << "no client ran XADD";
  slow = true;  // from now on every new connection takes 2 s
  // Closed while idle (Redis's `timeout`, a proxy, CLIENT KILL).
  ASSERT_TRUE(redis_->Command({"CLIENT", "KILL", "ID", first}).ok());
  // Remade in the background: a new connection, and the next Append does
  // not pay for it.
  absl::StatusOr<std::string> clients;
  auto connected_idle = [&] {  // connections whose last command was INFO
    clients = redis_->Command({"CLIENT", "LIST"});
    if (!clients.ok()) return 0;
    int n = 0;
    for (absl::string_view line : absl::StrSplit(*clients, '\n')) {
      n += absl::StrContains(line, " cmd=info ");
    }
    return n;
  };
  // ConnectRedis ends with INFO: the unused CLIENT UNBLOCK connection, and
  // the new command connection once it is made.
  ASSERT_TRUE(WaitFor([&] { return connected_idle() >= 2; }, kWait))
      << (clients.ok() ? *clients : clients.status().ToString());
  const absl::Time start = absl::Now();
  Add(store, "ann", "a2");
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500))
      << "the Append connected on the caller's thread";
  slow = false;
}

TEST_F(RedisNotificationStoreTest, AclUserWithoutClientUnblockStillGoesLive) {
  ASSERT_TRUE(redis_
                  ->Command({"ACL", "SETUSER", "notif", "on", ">notif-pw",
                             "~test:notif:*", "+@all", "-client|unblock"})
                  .ok());
  ASSERT_TRUE(WriteFile(password_file_, "notif notif-pw\n"));
  auto store = NewStore();
  Inbox ann, bob;
  store->Watch("ann", "", ann.OnReplay(), ann.Live(), ann.Closed());
  Add(*store, "ann", "a1");
  ASSERT_TRUE(WaitFor([&] { return ann.Count() >= 1; }, kWait));
  // A second user while the XREAD blocks: CLIENT UNBLOCK is refused, the
  // reader reconnects instead, and both users get their notifications.
  store->Watch("bob", "", bob.OnReplay(), bob.Live(), bob.Closed());
  Add(*store, "bob", "b1");
  Add(*store, "ann", "a2");
  ASSERT_TRUE(
      WaitFor([&] { return bob.Count() >= 1 && ann.Count() >= 2; }, kWait));
  EXPECT_THAT(bob.Texts(), ElementsAre("b1"));
  EXPECT_THAT(ann.Texts(), ElementsAre("a1", "a2"));
  EXPECT_EQ(ann.ClosedCount() + bob.ClosedCount(), 0u);
}

TEST_F(RedisNotificationStoreTest, WrongOrMissingPasswordIsAClearError) {
  for (const std::string& content :
       {std::string("wrong-password\n"), std::string("")}) {
    SCOPED_TRACE(content);
    RedisNotificationStoreOptions o = Options();
    if (content.empty()) {
      o.endpoint.password.clear();
    } else {
      ASSERT_TRUE(WriteFile(password_file_, content));
      ASSERT_TRUE(
          redis::ReadRedisPasswordFile(password_file_, o.endpoint).ok());
    }
    RedisNotificationStore store(o);
    ASSERT_TRUE(WaitFor(
        [&] {
          return !store.LastError().message().empty() &&
                 absl::IsPermissionDenied(store.LastError());
        },
        kWait))
        << store.LastError();
    EXPECT_FALSE(store.Healthy());
    EXPECT_THAT(std::string(store.LastError().message()),
                HasSubstr("refused authentication"));
    absl::StatusOr<FeedEntry> e = store.Append("ann", "x", kT);
    ASSERT_FALSE(e.ok());
    EXPECT_THAT(std::string(e.status().message()),
                HasSubstr("refused authentication"));
    Inbox inbox;
    EXPECT_EQ(
        store.Watch("ann", "", inbox.OnReplay(), inbox.Live(), inbox.Closed()),
        0u);
    ASSERT_EQ(inbox.ClosedCount(), 1u);
    EXPECT_TRUE(absl::IsUnavailable(inbox.closed[0]));
  }
  // An empty or unreadable password file is refused up front.
  redis::RedisEndpoint e;
  ASSERT_TRUE(WriteFile(password_file_, "\n"));
  EXPECT_FALSE(redis::ReadRedisPasswordFile(password_file_, e).ok());
  EXPECT_FALSE(redis::ReadRedisPasswordFile(dir_.File("missing"), e).ok());
  ASSERT_TRUE(WriteFile(password_file_, "a b c\n"));
  EXPECT_FALSE(redis::ReadRedisPasswordFile(password_file_, e).ok());
}

TEST_F(RedisNotificationStoreTest, RedisDownEndsStreamsAndLosesNothing) {
  std::vector<bool> health;
  std::mutex health_mu;
  RedisNotificationStoreOptions o = Options();
  o.on_health = [&](bool up) {
    std::lock_guard<std::mutex> lock(health_mu);
    health.push_back(up);
  };
  RedisNotificationStore store(o);
  ASSERT_TRUE(store.WaitHealthy(kWait));
  Inbox inbox;
  store.Watch("ann", "0", inbox.OnReplay(), inbox.Live(), inbox.Closed());
  Add(store, "ann", "before1");
  const std::string last_seen = Add(store, "ann", "before2");
  ASSERT_TRUE(WaitFor([&] { return inbox.Count() >= 2; }, kWait));

  const int port = redis_->port();
  redis_->Stop();
  ASSERT_TRUE(WaitFor([&] { return inbox.ClosedCount() == 1; }, kWait));
  EXPECT_TRUE(absl::IsUnavailable(inbox.closed[0])) << inbox.closed[0];
  EXPECT_FALSE(store.Healthy());
  absl::StatusOr<FeedEntry> failed = store.Append("ann", "lost?", kT);
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  Inbox refused;
  EXPECT_EQ(store.Watch("ann", last_seen, refused.OnReplay(), refused.Live(),
                        refused.Closed()),
            0u);
  EXPECT_EQ(refused.ClosedCount(), 1u);

  // Redis comes back on the same port and dir (AOF, fsync always).
  ASSERT_TRUE(redis_->Start(port).ok());
  ASSERT_TRUE(store.WaitHealthy(kWait));
  Add(store, "ann", "after");
  Inbox resumed;
  ASSERT_NE(store.Watch("ann", last_seen, resumed.OnReplay(), resumed.Live(),
                        resumed.Closed()),
            0u);
  EXPECT_FALSE(resumed.reset);
  EXPECT_THAT(resumed.Texts(), ElementsAre("after"));
  Inbox all;
  store.Watch("ann", "0", all.OnReplay(), all.Live(), all.Closed());
  EXPECT_THAT(all.Texts(), ElementsAre("before1", "before2", "after"));
  std::lock_guard<std::mutex> lock(health_mu);
  EXPECT_THAT(health, ElementsAre(true, false, true));
}

// Found by CI: a Redis that restarts reads its dataset first and answers
// LOADING to data commands meanwhile, though it accepts AUTH. The store must
// not call that connection healthy (and flap) until Redis can serve it.
TEST_F(RedisNotificationStoreTest, RedisStillLoadingIsNotHealthyYet) {
  std::vector<bool> health;
  std::mutex health_mu;
  RedisNotificationStoreOptions o = Options();
  o.on_health = [&](bool up) {
    std::lock_guard<std::mutex> lock(health_mu);
    health.push_back(up);
  };
  RedisNotificationStore store(o);
  ASSERT_TRUE(store.WaitHealthy(kWait));
  const std::string first = Add(store, "ann", "before");
  // Keys of 2 KiB in an RDB base file: loading goes key by key
  // (--key-load-delay) and Redis answers clients between keys
  // (--loading-process-events-interval-bytes).
  // (Random text: RDB compresses repeats.)
  uint64_t seed = 88172645463325252ull;
  for (int i = 0; i < 6; ++i) {
    std::string text;
    while (text.size() < 2048) {
      seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
      absl::StrAppend(&text, absl::Hex(seed));
    }
    Add(store, absl::StrCat("user", i), text);
  }
  ASSERT_TRUE(redis_->Command({"BGREWRITEAOF"}).ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<std::string> info =
            redis_->Command({"INFO", "persistence"});
        return info.ok() &&
               absl::StrContains(*info, "aof_rewrite_in_progress:0") &&
               absl::StrContains(*info, "aof_rewrite_scheduled:0") &&
               absl::StrContains(*info, "aof_last_bgrewrite_status:ok");
      },
      kWait));

  const int port = redis_->port();
  redis_->Stop();
  ASSERT_TRUE(WaitFor([&] { return !store.Healthy(); }, kWait));
  // 7 keys x 150 ms: Redis answers LOADING for about a second.
  ASSERT_TRUE(
      redis_
          ->Start(port, {"--key-load-delay", "150000",
                         "--loading-process-events-interval-bytes", "1024"})
          .ok());
  absl::StatusOr<std::string> probe = redis_->Command({"GET", "x"});
  ASSERT_FALSE(probe.ok()) << "Redis was not loading; the test proves nothing";
  EXPECT_THAT(std::string(probe.status().message()), HasSubstr("LOADING"));

  ASSERT_TRUE(store.WaitHealthy(kWait)) << store.LastError();
  // Healthy means it serves: a write and a resume work at once.
  Add(store, "ann", "after");
  Inbox resumed;
  ASSERT_NE(store.Watch("ann", first, resumed.OnReplay(), resumed.Live(),
                        resumed.Closed()),
            0u);
  EXPECT_THAT(resumed.Texts(), ElementsAre("after"));
  EXPECT_EQ(resumed.ClosedCount(), 0u);
  std::lock_guard<std::mutex> lock(health_mu);
  EXPECT_THAT(health, ElementsAre(true, false, true));
}

}  // namespace
}  // namespace ssebridge::services::notifications

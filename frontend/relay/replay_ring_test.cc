// ReplayRing on its own: bounds (count, bytes, age with an injected clock),
// opaque ids, and the edges of resuming.
#include "frontend/relay/replay_ring.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ssebridge::frontend {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

// The bytes a shared call would have written for event `id`.
std::string Sse(absl::string_view id) {
  return absl::StrCat("id: ", id, "\ndata: payload of ", id, "\n\n");
}

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

ReplayRing::Bounds Roomy() {
  return {.max_events = 100, .max_age = absl::Minutes(5), .max_bytes = 1 << 20};
}

TEST(ReplayRingTest, EmptyRingKnowsNoIdAndHasNothingToReplay) {
  ReplayRing ring(Roomy());
  EXPECT_EQ(ring.EventsAfter("1", kT0), std::nullopt);
  EXPECT_EQ(ring.EventsAfter("", kT0), std::nullopt);
  EXPECT_THAT(ring.LastEvents(5, kT0), IsEmpty());
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.bytes(), 0u);
}

TEST(ReplayRingTest, ResumeEdges) {
  ReplayRing ring(Roomy());
  for (const char* id : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(ring.Append(id, Sse(id), kT0));
  }
  // The newest id: nothing missed.
  EXPECT_THAT(ring.EventsAfter("d", kT0), Optional(IsEmpty()));
  // The oldest held: everything after it, in order.
  EXPECT_THAT(ring.EventsAfter("a", kT0),
              Optional(ElementsAre(Sse("b"), Sse("c"), Sse("d"))));
  EXPECT_THAT(ring.EventsAfter("c", kT0), Optional(ElementsAre(Sse("d"))));
  // Never held.
  EXPECT_EQ(ring.EventsAfter("z", kT0), std::nullopt);
  // Ids compare exactly: no prefix, case or numeric matching.
  EXPECT_EQ(ring.EventsAfter("A", kT0), std::nullopt);
  EXPECT_EQ(ring.EventsAfter("a ", kT0), std::nullopt);
}

TEST(ReplayRingTest, IdsAreOpaqueStringsNotNumbers) {
  ReplayRing ring(Roomy());
  // Out of numeric order, not numbers at all, and numbers with leading
  // zeros that a numeric comparison would confuse.
  const std::vector<std::string> ids = {
      "9", "10", "007", "7", "2024-05-01T10:00:00Z#3", "ülk€", "{\"k\":1}"};
  for (const auto& id : ids) ASSERT_TRUE(ring.Append(id, Sse(id), kT0));
  EXPECT_THAT(
      ring.EventsAfter("10", kT0),
      Optional(ElementsAre(Sse("007"), Sse("7"), Sse("2024-05-01T10:00:00Z#3"),
                           Sse("ülk€"), Sse("{\"k\":1}"))));
  EXPECT_THAT(ring.EventsAfter("007", kT0),
              Optional(ElementsAre(Sse("7"), Sse("2024-05-01T10:00:00Z#3"),
                                   Sse("ülk€"), Sse("{\"k\":1}"))));
  EXPECT_THAT(ring.EventsAfter("ülk€", kT0),
              Optional(ElementsAre(Sse("{\"k\":1}"))));
}

TEST(ReplayRingTest, ARepeatedIdResumesAfterItsNewestOccurrence) {
  ReplayRing ring(Roomy());
  for (const char* id : {"x", "y", "x", "z"}) {
    ASSERT_TRUE(ring.Append(id, Sse(id), kT0));
  }
  EXPECT_THAT(ring.EventsAfter("x", kT0), Optional(ElementsAre(Sse("z"))));
}

TEST(ReplayRingTest, CountBoundEvictsTheOldest) {
  ReplayRing ring(
      {.max_events = 3, .max_age = absl::Hours(1), .max_bytes = 1 << 20});
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(ring.Append(absl::StrCat(i), Sse(absl::StrCat(i)), kT0));
    EXPECT_LE(ring.size(), 3u);
  }
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring.EventsAfter("5", kT0), std::nullopt) << "evicted";
  // "6" was evicted last: just before the oldest held, so nothing is missed.
  EXPECT_THAT(ring.EventsAfter("6", kT0),
              Optional(ElementsAre(Sse("7"), Sse("8"), Sse("9"))));
  EXPECT_THAT(ring.EventsAfter("7", kT0),
              Optional(ElementsAre(Sse("8"), Sse("9"))));
  EXPECT_THAT(ring.LastEvents(10, kT0),
              ElementsAre(Sse("7"), Sse("8"), Sse("9")));
  EXPECT_THAT(ring.LastEvents(2, kT0), ElementsAre(Sse("8"), Sse("9")));
  EXPECT_THAT(ring.LastEvents(0, kT0), IsEmpty());
}

TEST(ReplayRingTest, ByteBoundEvictsTheOldestAndCountsIdsAndBytes) {
  const std::string event(100, 'x');
  // Room for exactly three events with two-byte ids.
  ReplayRing ring({.max_events = 1000,
                   .max_age = absl::Hours(1),
                   .max_bytes = 3 * (2 + 100)});
  for (int i = 10; i < 20; ++i) {
    ASSERT_TRUE(ring.Append(absl::StrCat(i), event, kT0));
    EXPECT_LE(ring.bytes(), 3u * 102);
  }
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring.bytes(), 3u * 102);
  EXPECT_EQ(ring.EventsAfter("15", kT0), std::nullopt);
  EXPECT_THAT(ring.EventsAfter("16", kT0),
              Optional(ElementsAre(event, event, event)));
  EXPECT_THAT(ring.EventsAfter("17", kT0), Optional(ElementsAre(event, event)));
  // A larger event pushes out as many old ones as it needs.
  ASSERT_TRUE(ring.Append("20", std::string(200, 'y'), kT0));
  EXPECT_EQ(ring.size(), 2u);
  EXPECT_EQ(ring.bytes(), 102u + 202u);
  EXPECT_THAT(ring.EventsAfter("19", kT0),
              Optional(ElementsAre(std::string(200, 'y'))));
}

TEST(ReplayRingTest, AnEventOverTheByteBoundEmptiesTheRing) {
  ReplayRing ring(
      {.max_events = 10, .max_age = absl::Hours(1), .max_bytes = 50});
  ASSERT_TRUE(ring.Append("1", "small", kT0));
  ASSERT_TRUE(ring.Append("2", "small", kT0));
  EXPECT_FALSE(ring.Append("3", std::string(60, 'z'), kT0));
  // Resuming from "1" would skip "3": every old id is unknown now.
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.bytes(), 0u);
  EXPECT_EQ(ring.EventsAfter("1", kT0), std::nullopt);
  // Whoever got "3" missed nothing.
  EXPECT_THAT(ring.EventsAfter("3", kT0), Optional(IsEmpty()));
  // And it fills again afterwards.
  ASSERT_TRUE(ring.Append("4", "small", kT0));
  EXPECT_THAT(ring.EventsAfter("4", kT0), Optional(IsEmpty()));
}

TEST(ReplayRingTest, ExactFitIsKept) {
  ReplayRing ring(
      {.max_events = 10, .max_age = absl::Hours(1), .max_bytes = 10});
  EXPECT_TRUE(ring.Append("1", "123456789", kT0));  // 1 + 9 = 10
  EXPECT_EQ(ring.size(), 1u);
  EXPECT_EQ(ring.bytes(), 10u);
}

TEST(ReplayRingTest, AgeBoundWithAnInjectedClock) {
  ReplayRing ring(
      {.max_events = 100, .max_age = absl::Seconds(10), .max_bytes = 1 << 20});
  for (int i = 0; i < 5; ++i) {  // at t0, t0+2s, ..., t0+8s
    ASSERT_TRUE(ring.Append(absl::StrCat(i), Sse(absl::StrCat(i)),
                            kT0 + absl::Seconds(2 * i)));
  }
  // At t0+10s nothing is older than 10 s: all held.
  EXPECT_THAT(ring.EventsAfter("0", kT0 + absl::Seconds(10)),
              Optional(ElementsAre(Sse("1"), Sse("2"), Sse("3"), Sse("4"))));
  // At t0+13s events 0 and 1 (t0, t0+2s) are over 10 s old.
  EXPECT_EQ(ring.EventsAfter("0", kT0 + absl::Seconds(13)), std::nullopt);
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_THAT(ring.EventsAfter("1", kT0 + absl::Seconds(13)),
              Optional(ElementsAre(Sse("2"), Sse("3"), Sse("4"))));
  EXPECT_THAT(ring.EventsAfter("2", kT0 + absl::Seconds(13)),
              Optional(ElementsAre(Sse("3"), Sse("4"))));
  // Appending evicts by age too.
  ASSERT_TRUE(ring.Append("5", Sse("5"), kT0 + absl::Seconds(17)));
  EXPECT_THAT(ring.LastEvents(100, kT0 + absl::Seconds(17)),
              ElementsAre(Sse("4"), Sse("5")));
  // Long after, nothing is left, and the byte count agrees.
  ring.EvictExpired(kT0 + absl::Hours(1));
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.bytes(), 0u);
}

TEST(ReplayRingTest, BytesTrackWhatIsHeld) {
  ReplayRing ring(Roomy());
  size_t want = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string id = absl::StrCat("id-", i);
    ASSERT_TRUE(ring.Append(id, Sse(id), kT0));
    want += ReplayRing::Charge(id, Sse(id));
  }
  EXPECT_EQ(ring.bytes(), want);
  ring.Clear();
  EXPECT_EQ(ring.bytes(), 0u);
  EXPECT_TRUE(ring.empty());
}

// A slow route: the newest event is older than max_age. A browser that
// holds its id has missed nothing, so it resumes with an empty backlog, not
// a reset: the ring remembers the id just before its oldest held event.
TEST(ReplayRingTest, NewestIdResumesEmptyAfterItAgedOut) {
  ReplayRing ring({.max_events = 10, .max_age = absl::Minutes(1),
                   .max_bytes = 1 << 20});
  ring.Append("a", Sse("a"), kT0);
  ring.Append("b", Sse("b"), kT0 + absl::Seconds(1));
  const absl::Time later = kT0 + absl::Minutes(3);
  EXPECT_THAT(ring.EventsAfter("b", later), Optional(IsEmpty()));
  EXPECT_TRUE(ring.empty());
  // An older id that aged out is still unknown: a gap cannot be ruled out.
  EXPECT_EQ(ring.EventsAfter("a", later), std::nullopt);
  // A new event: "b" is the one just before the oldest held, so a browser
  // holding it missed exactly what is held.
  ring.Append("c", Sse("c"), later);
  EXPECT_THAT(ring.EventsAfter("c", later), Optional(IsEmpty()));
  EXPECT_THAT(ring.EventsAfter("b", later), Optional(ElementsAre(Sse("c"))));
  EXPECT_EQ(ring.EventsAfter("a", later), std::nullopt);
}

// An event too large to keep empties the ring; a browser that received it
// (holds its id) has missed nothing.
TEST(ReplayRingTest, OversizedNewestEventResumesEmpty) {
  ReplayRing ring({.max_events = 10, .max_age = absl::Minutes(1),
                   .max_bytes = 64});
  ring.Append("a", Sse("a"), kT0);
  EXPECT_FALSE(ring.Append("big", std::string(100, 'x'), kT0));
  EXPECT_THAT(ring.EventsAfter("big", kT0), Optional(IsEmpty()));
  EXPECT_EQ(ring.EventsAfter("a", kT0), std::nullopt);
  ring.Clear();  // the call is gone: nothing is known any more
  EXPECT_EQ(ring.EventsAfter("big", kT0), std::nullopt);
}

}  // namespace
}  // namespace ssebridge::frontend

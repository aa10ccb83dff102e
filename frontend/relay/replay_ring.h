// ReplayRing: the recent history of one shared call (Route.replay), so that
// a stream that joins late, or a browser that comes back with
// Last-Event-ID, gets what it missed. It keeps the last events that carry an
// id, each as the exact SSE bytes that were written to the streams (never
// encoded again), bounded by count, age and bytes; the oldest go first.
//
// A pure data structure: no lock and no clock of its own (callers pass
// `now`, so tests inject time). Ids are opaque strings, compared exactly.
// Events without an id are not kept: nothing can resume from them.
//
// Thread-safety: none; the owner (a SharedCall, under its mutex) serialises
// every call.
#ifndef SSEBRIDGE_FRONTEND_RELAY_REPLAY_RING_H_
#define SSEBRIDGE_FRONTEND_RELAY_REPLAY_RING_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ssebridge::frontend {

class ReplayRing {
 public:
  struct Bounds {
    size_t max_events = 1000;
    absl::Duration max_age = absl::Minutes(5);
    // Charged per event: its encoded bytes plus its id (see Charge()).
    size_t max_bytes = 1 << 20;
  };

  explicit ReplayRing(const Bounds& bounds) : bounds_(bounds) {}
  ReplayRing(const ReplayRing&) = delete;
  ReplayRing& operator=(const ReplayRing&) = delete;

  // What one event counts against max_bytes.
  static size_t Charge(absl::string_view id, absl::string_view bytes) {
    return id.size() + bytes.size();
  }

  // Adds the event with (non-empty) `id`, encoded as `bytes`, received at
  // `now`, then evicts the oldest events until the bounds hold. An event
  // that alone is over max_bytes cannot be kept; the ring is emptied instead
  // (resuming from an older id would skip it: a gap) and false returned.
  bool Append(absl::string_view id, absl::string_view bytes, absl::Time now);

  // The encoded events after the newest held event whose id is `id`, oldest
  // first (empty when that is the newest event); every held event when `id`
  // is the event evicted last (the one just before the oldest held, or the
  // newest of all when every event has aged out or an oversized one emptied
  // the ring: a browser holding it missed only what is held); nullopt for
  // any other id (never seen, or evicted before that: a gap cannot be ruled
  // out). Evicts what is older than max_age at `now` first. The views are
  // valid until the next non-const call.
  std::optional<std::vector<absl::string_view>> EventsAfter(
      absl::string_view id, absl::Time now);

  // The newest `k` events held (fewer if fewer are held), oldest first,
  // after evicting what is older than max_age at `now`. Views as above.
  std::vector<absl::string_view> LastEvents(size_t k, absl::Time now);

  // Drops every event older than max_age at `now`.
  void EvictExpired(absl::Time now);
  // Forgets everything, the last evicted id too (the call is gone).
  void Clear();

  size_t size() const { return events_.size(); }
  bool empty() const { return events_.empty(); }
  // Sum of Charge() over the events held.
  size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    std::string id;
    std::string bytes;
    absl::Time at;
  };
  void PopOldest();

  const Bounds bounds_;
  std::deque<Entry> events_;  // oldest first
  size_t bytes_ = 0;
  // The id of the event evicted last (the predecessor of events_.front()).
  std::optional<std::string> evicted_id_;
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_REPLAY_RING_H_

#include "frontend/relay/replay_ring.h"

namespace ssebridge::frontend {

bool ReplayRing::Append(absl::string_view id, absl::string_view bytes,
                        absl::Time now) {
  const size_t charge = Charge(id, bytes);
  if (charge > bounds_.max_bytes || bounds_.max_events == 0) {
    Clear();
    evicted_id_ = std::string(id);  // sent, but not kept
    return false;
  }
  EvictExpired(now);
  while (!events_.empty() && (events_.size() >= bounds_.max_events ||
                              bytes_ + charge > bounds_.max_bytes)) {
    PopOldest();
  }
  events_.push_back(Entry{std::string(id), std::string(bytes), now});
  bytes_ += charge;
  return true;
}

std::optional<std::vector<absl::string_view>> ReplayRing::EventsAfter(
    absl::string_view id, absl::Time now) {
  EvictExpired(now);
  // From the newest back: a browser that reconnects is usually close behind.
  for (size_t i = events_.size(); i-- > 0;) {
    if (events_[i].id != id) continue;
    std::vector<absl::string_view> out;
    out.reserve(events_.size() - i - 1);
    for (size_t j = i + 1; j < events_.size(); ++j) {
      out.push_back(events_[j].bytes);
    }
    return out;
  }
  if (evicted_id_.has_value() && *evicted_id_ == id) {
    std::vector<absl::string_view> out;
    out.reserve(events_.size());
    for (const Entry& e : events_) out.push_back(e.bytes);
    return out;
  }
  return std::nullopt;
}

std::vector<absl::string_view> ReplayRing::LastEvents(size_t k,
                                                      absl::Time now) {
  EvictExpired(now);
  std::vector<absl::string_view> out;
  const size_t from = events_.size() > k ? events_.size() - k : 0;
  out.reserve(events_.size() - from);
  for (size_t j = from; j < events_.size(); ++j) {
    out.push_back(events_[j].bytes);
  }
  return out;
}

void ReplayRing::EvictExpired(absl::Time now) {
  // Entries are in arrival order, so the expired ones are a prefix.
  while (!events_.empty() && now - events_.front().at > bounds_.max_age) {
    PopOldest();
  }
}

void ReplayRing::Clear() {
  events_.clear();
  bytes_ = 0;
  evicted_id_.reset();
}

void ReplayRing::PopOldest() {
  bytes_ -= Charge(events_.front().id, events_.front().bytes);
  evicted_id_ = std::move(events_.front().id);
  events_.pop_front();
}

}  // namespace ssebridge::frontend

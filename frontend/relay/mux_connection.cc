#include "frontend/relay/mux_connection.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sse/encoder.h"
#include "frontend/relay/route_event.h"
#include "spdlog/spdlog.h"

namespace ssebridge::frontend {

using ::ssebridge::action::v1::Event;

// The sink one sub-stream's call delivers to. Its state is guarded by its
// connection's mu_.
class MuxConnection::Branch : public StreamSink {
 public:
  Branch(MuxConnection* conn, SubStream sub)
      : conn_(conn), sub_(std::move(sub)), started_(absl::Now()) {}

  bool SetUpstream(std::shared_ptr<Upstream> upstream) override {
    std::lock_guard<std::mutex> lock(conn_->mu_);
    if (conn_->closed_ || ended_) return false;
    upstream_ = std::move(upstream);
    return true;
  }
  // The connection's head went out when it opened.
  void CommitHead() override {}
  Verdict OnMessage(const Event& event) override {
    std::lock_guard<std::mutex> lock(conn_->mu_);
    if (conn_->closed_ || ended_) return Verdict::kDrop;
    std::string& encoded = encoded_;
    encoded.clear();
    // What the encoder drops is counted, as on the route alone.
    ForEachRouteEvent(event, [&](const Event& e) {
      AppendRouteEvent(e, *sub_.settings, conn_->stats_, encoded);
    });
    return conn_->DeliverEachLocked(*this, encoded);
  }
  Verdict OnEncoded(absl::string_view bytes, size_t /*events*/) override {
    std::lock_guard<std::mutex> lock(conn_->mu_);
    if (conn_->closed_ || ended_) return Verdict::kDrop;
    return conn_->DeliverEachLocked(*this, bytes);
  }
  void EndUpstream(const absl::Status& status) override {
    std::shared_ptr<Upstream> up;
    {
      std::lock_guard<std::mutex> lock(conn_->mu_);
      if (conn_->closed_ || ended_) return;
      const SessionSettings& s = *sub_.settings;
      if (status.ok()) {
        up = conn_->FinishLocked(*this, s.terminal_event, "", Outcome::kDone,
                                 status);
      } else {
        up = conn_->FinishLocked(*this, "error",
                                 UpstreamErrorData(status, s.expose_errors),
                                 Outcome::kUpstreamError, status);
      }
    }
    // The call has ended: nothing to leave (it may hold its own lock now).
  }
  bool closed() const override {
    std::lock_guard<std::mutex> lock(conn_->mu_);
    return conn_->closed_ || ended_;
  }

  MuxConnection* const conn_;
  const SubStream sub_;
  const absl::Time started_;
  // Guarded by conn_->mu_.
  std::shared_ptr<Upstream> upstream_;
  bool ended_ = false;
  std::string encoded_;
};

MuxConnection::MuxConnection(std::shared_ptr<StreamSession> session,
                             FrontendStats* stats, std::vector<SubStream> subs,
                             std::function<void()> on_close)
    : session_(std::move(session)),
      stats_(stats),
      on_close_(std::move(on_close)) {
  std::lock_guard<std::mutex> lock(mu_);
  for (SubStream& sub : subs) {
    any_shared_ = any_shared_ || sub.shared_route;
    positions_.emplace_back(sub.alias, sub.last_event_id);
    if (RouteStats* rs = sub.settings->route_stats) {
      rs->open_streams.fetch_add(1, std::memory_order_relaxed);
    }
    branches_.push_back(std::make_shared<Branch>(this, std::move(sub)));
  }
  live_ = branches_.size();
}

std::shared_ptr<StreamSink> MuxConnection::sink(size_t i) {
  // The branch keeps its connection alive through this aliasing pointer's
  // control block: a call holding the sink holds the connection.
  return std::shared_ptr<StreamSink>(shared_from_this(), branches_[i].get());
}

bool MuxConnection::shared() const { return any_shared_; }

StreamSink::Verdict MuxConnection::DeliverEachLocked(
    Branch& b, absl::string_view encoded) {
  // Encoded SSE has no empty line inside an event (every line has a field
  // name or a colon), so each "\n\n" ends one: a batch, or a shared call's
  // fan-out of one, carries several.
  StreamSink::Verdict verdict = StreamSink::Verdict::kKeep;
  while (!encoded.empty()) {
    const size_t end = encoded.find("\n\n");
    const size_t n = end == absl::string_view::npos ? encoded.size() : end + 2;
    const StreamSink::Verdict v = DeliverLocked(b, encoded.substr(0, n));
    encoded.remove_prefix(n);
    if (v == StreamSink::Verdict::kDrop) return v;
    if (v == StreamSink::Verdict::kPause) verdict = v;
  }
  return verdict;
}

StreamSink::Verdict MuxConnection::DeliverLocked(Branch& b,
                                                 absl::string_view encoded) {
  const std::string id = EncodedEventId(encoded);
  std::string cursor;
  if (!id.empty()) {
    for (auto& [alias, last] : positions_) {
      if (alias == b.sub_.alias) last = id;
    }
    cursor = EncodeMuxCursor(positions_);
  }
  scratch_.clear();
  AppendMuxEvent(encoded, b.sub_.alias, id.empty() ? nullptr : &cursor,
                 scratch_);
  return session_->OnEncoded(scratch_, 1);
}

std::shared_ptr<Upstream> MuxConnection::FinishLocked(
    Branch& b, absl::string_view name, absl::string_view data, Outcome outcome,
    const absl::Status& status) {
  b.ended_ = true;
  if (RouteStats* rs = b.sub_.settings->route_stats) {
    rs->open_streams.fetch_sub(1, std::memory_order_relaxed);
    rs->Count(outcome);
  }
  if (closed_) return std::move(b.upstream_);
  scratch_.clear();
  common::sse::AppendSimpleEvent(absl::StrCat(b.sub_.alias, ".", name), data, 0,
                                 scratch_);
  session_->OnEncoded(scratch_, 1);
  if (!status.ok() && first_error_.ok()) first_error_ = status;
  if (--live_ == 0) session_->EndUpstream(first_error_);
  return std::move(b.upstream_);
}

void MuxConnection::Leave(const StreamSink* /*sink*/) {
  std::vector<std::pair<std::shared_ptr<Upstream>, Branch*>> leave;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    for (auto& b : branches_) {
      if (!b->ended_) {
        b->ended_ = true;
        if (RouteStats* rs = b->sub_.settings->route_stats) {
          rs->open_streams.fetch_sub(1, std::memory_order_relaxed);
          rs->Count(Outcome::kClientGone);
        }
      }
      if (b->upstream_ != nullptr) {
        leave.emplace_back(std::move(b->upstream_), b.get());
      }
    }
  }
  if (on_close_) on_close_();
  for (auto& [up, b] : leave) up->Leave(b);
}

void MuxConnection::Resume() {
  std::vector<std::shared_ptr<Upstream>> ups;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& b : branches_) {
      if (!b->ended_ && b->upstream_ != nullptr) ups.push_back(b->upstream_);
    }
  }
  for (auto& up : ups) up->Resume();
}

bool MuxConnection::CancelIfStuck(absl::Time now, absl::Duration after) {
  std::vector<std::shared_ptr<Upstream>> ups;
  std::vector<std::pair<std::shared_ptr<Upstream>, Branch*>> leave;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    for (auto& b : branches_) {
      if (b->ended_) continue;
      const SessionSettings& s = *b->sub_.settings;
      std::shared_ptr<Upstream> up;
      if (s.max_duration > absl::ZeroDuration() &&
          now - b->started_ > s.max_duration) {
        up = FinishLocked(*b, s.terminal_event, "", Outcome::kTimeout,
                          absl::OkStatus());
      } else if (now >= b->sub_.expires) {
        up = FinishLocked(*b, s.auth_expired_event, "", Outcome::kAuthExpired,
                          absl::OkStatus());
      } else if (b->upstream_ != nullptr) {
        ups.push_back(b->upstream_);
        continue;
      }
      if (up != nullptr) leave.emplace_back(std::move(up), b.get());
    }
  }
  for (auto& [up, b] : leave) up->Leave(b);
  bool stuck = false;
  for (auto& up : ups) stuck = up->CancelIfStuck(now, after) || stuck;
  return stuck;
}

}  // namespace ssebridge::frontend

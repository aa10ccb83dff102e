// The two narrow interfaces between a browser stream and the upstream call
// that feeds it, so that neither knows the other's concrete type:
// - StreamSink: what an upstream delivers to (implemented by StreamSession).
// - Upstream: what a stream asks of the call feeding it (implemented by a
//   stream's own ActionCall and by a SharedCall that feeds many streams).
// A new kind of upstream (another RPC shape) implements Upstream and feeds
// StreamSinks; the session, IoLoop, backpressure and limits stay as they are.
//
// Lock order: an upstream's lock, then a sink's; an upstream may call into a
// sink while holding its own lock, a sink never calls its upstream while
// holding its own (it copies the pointer and calls after unlocking).
// Thread-safety: both interfaces are called from gRPC and IoLoop threads;
// implementations are thread-safe.
#ifndef SSEBRIDGE_FRONTEND_RELAY_STREAM_SINK_H_
#define SSEBRIDGE_FRONTEND_RELAY_STREAM_SINK_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ssebridge/action/v1/action.pb.h"

namespace ssebridge::frontend {

class Upstream;

class StreamSink {
 public:
  virtual ~StreamSink() = default;

  // Whom the stream asks to pause, resume or leave. Returns false, and
  // keeps nothing, if the stream's socket already closed: the caller must
  // then not start (or subscribe) anything for it, since nothing would ever
  // end it.
  virtual bool SetUpstream(std::shared_ptr<Upstream> upstream) = 0;

  // The backend answered: the SSE head goes out now.
  virtual void CommitHead() = 0;

  // What the upstream should do after a delivery.
  // kKeep: read on. kPause: the stream's buffer passed high water: stop
  // reading until the stream calls Upstream::Resume (after it drained below
  // low water), so flow control reaches the service. kDrop: the stream takes
  // nothing more (closed, ending, or over a limit): a shared call
  // unsubscribes it, a stream's own call is cancelled.
  enum class Verdict { kKeep, kPause, kDrop };

  // A stream's own call: one message to encode (or collect).
  virtual Verdict OnMessage(const ssebridge::action::v1::Event& event) = 0;
  // A shared call: `events` events (one, or a batch), already encoded once
  // for every subscriber.
  virtual Verdict OnEncoded(absl::string_view bytes, size_t events) = 0;

  // The upstream call ended with `status` (OK: the service finished).
  virtual void EndUpstream(const absl::Status& status) = 0;

  // The client's socket is closed.
  virtual bool closed() const = 0;
};

class Upstream {
 public:
  virtual ~Upstream() = default;

  // `sink` stops listening (its socket closed, it ended early or was dropped
  // as too slow): a shared call unsubscribes it (the last one out cancels),
  // a stream's own call is cancelled unless it has already ended.
  virtual void Leave(const StreamSink* sink) = 0;

  // A sink that answered kPause drained below low water: read on.
  virtual void Resume() = 0;

  // Cancels the call if its reads ended more than `after` ago without the
  // call ending (gRPC could not parse a message, which leaves the call stuck
  // until cancelled); it then ends with INTERNAL kUnparsableUpstream. True
  // if it did. Cheap while reading: called on every IoLoop tick.
  virtual bool CancelIfStuck(absl::Time now, absl::Duration after) = 0;

  // Whether several streams share the call: a stream that keeps a shared
  // call waiting too long is dropped rather than waited for.
  virtual bool shared() const = 0;
};

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_STREAM_SINK_H_

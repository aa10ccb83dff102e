// sse_load: the SSE load client of the benchmark (tests/bench/run_bench).
//
// Opens --streams HTTP/1.1 GET streams to --url (127.0.0.1 only) at
// --connect_rate, parses each with common/sse's Parser, and prints ONE JSON
// line: streams ok / failed (by reason), events, deliveries per second,
// end-to-end latency from each event's "t=<CLOCK_REALTIME ns>" prefix
// (p50/p90/p99/max), per-stream order from its "seq=<n>" field, time to
// first byte and connect time (p50/p99/max), and the durations. Latency and
// time to first byte end when this machine's kernel received the bytes
// (SO_TIMESTAMPNS), so the client's own scheduling delay is left out;
// "latency_app_ms" is the same measured when the client read them.
//
// Each client process is one thread with one epoll. --procs forks that many
// client processes (the streams split between them; each raises its
// RLIMIT_NOFILE soft limit to the hard limit, reported as "nofile"); the
// parent only coordinates: it samples the servers' CPU time and RSS
// (--server_pids, from /proc) at the start, once every stream is connected
// and at the end of the run before any stream is closed, starts the
// publisher (--publish_url, for servers such as nchan or Pushpin whose
// events come from an HTTP publish endpoint) once every stream is
// connected, and merges the children's results.
//
// Modes: by default a stream runs until --duration; with --events=N it is
// done after N events; with --hold it only holds the connection and counts
// heartbeats (comments and ping events); --stream_life closes each stream
// that long after its first byte (connect storms). With --mux_streams each
// stream is a mux connection carrying that many sub-streams, whose messages
// arrive named by their alias. --duration counts from
// when every stream is connected, or with --duration_from=first_event from
// the first event after that (a source that starts late, such as loadgen's
// start_ms on a shared route, then still gets its full window). Every phase
// is bounded by --max_time.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/sse/parser.h"
#include "tests/bench/http_response.h"
#include "tests/bench/load_stats.h"
#include "tests/util/test_util.h"

ABSL_FLAG(std::string, url, "", "Stream URL, http://127.0.0.1:PORT/path?query");
ABSL_FLAG(int, streams, 100, "Streams to open (in total over --procs).");
ABSL_FLAG(double, connect_rate, 0,
          "New streams per second in total; 0 = as fast as --max_connecting "
          "allows.");
ABSL_FLAG(int, max_connecting, 64,
          "Streams per process still waiting for their response head.");
ABSL_FLAG(int, procs, 1, "Client processes (one thread each).");
ABSL_FLAG(double, duration, 10,
          "Seconds the run lasts (at most), counted from --duration_from.");
ABSL_FLAG(std::string, duration_from, "connected",
          "When --duration starts: \"connected\" (every stream settled) or "
          "\"first_event\" (every stream settled and this process received "
          "its first message event: the measuring window starts with the "
          "events, however late the source starts them; until then only "
          "--max_time bounds the run).");
ABSL_FLAG(int64_t, events, 0,
          "A stream is done after this many events (0 = run for --duration).");
ABSL_FLAG(int, mux_streams, 0,
          "Each stream is a mux route's connection (issue 22) with this many "
          "sub-streams: an event named ALIAS (no dot) is a message of "
          "sub-stream ALIAS, ALIAS.done / ALIAS.error its end; order and gaps "
          "are checked per alias; --events counts per sub-stream.");
ABSL_FLAG(bool, hold, false,
          "Hold mode: only hold the streams for --duration and count "
          "heartbeats.");
ABSL_FLAG(double, stream_life, 0,
          "Close each stream this many seconds after its first byte (0 = no).");
ABSL_FLAG(double, connect_timeout, 10,
          "Seconds from socket() to the response head before a stream fails.");
ABSL_FLAG(double, max_time, 60, "Hard bound on the whole run in seconds.");
ABSL_FLAG(std::string, server_pids, "",
          "Server processes to sample: label:pid[+pid...][,label:...].");
ABSL_FLAG(std::string, publish_url, "",
          "Publish endpoint (http://127.0.0.1:PORT/path); events are "
          "published there once every stream is connected.");
ABSL_FLAG(std::string, publish_format, "nchan",
          "nchan (POST the payload as the body) or pushpin (POST GRIP JSON "
          "to /publish/).");
ABSL_FLAG(std::string, publish_channel, "bench", "Pushpin channel.");
ABSL_FLAG(int64_t, publish_count, 0, "Messages to publish.");
ABSL_FLAG(double, publish_rate, 0, "Messages per second; 0 = back to back.");
ABSL_FLAG(int, publish_bytes, 64, "Payload size of each published message.");
ABSL_FLAG(bool, verbose, false, "Progress lines on stderr.");

namespace ssebridge::bench {
namespace {

using common::sse::ParsedEvent;
using common::sse::Parser;

int64_t NowNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
int64_t MonoNs() { return NowNs(CLOCK_MONOTONIC); }
int64_t RealNs() { return NowNs(CLOCK_REALTIME); }
int64_t SecondsToNs(double s) { return static_cast<int64_t>(s * 1e9); }

bool g_verbose = false;
template <typename... Args>
void Log(const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (!g_verbose) return;
  std::fprintf(stderr, "sse_load[%d]: %s\n", getpid(),
               absl::StrFormat(format, args...).c_str());
}

// ---------------------------------------------------------------- URLs

struct Url {
  std::string host;  // numeric IPv4
  int port = 80;
  std::string target;  // path and query
  sockaddr_in addr{};
};

bool ParseUrl(absl::string_view s, Url& url) {
  if (!absl::ConsumePrefix(&s, "http://")) return false;
  const size_t slash = s.find('/');
  absl::string_view authority = s.substr(0, slash);
  url.target =
      slash == absl::string_view::npos ? "/" : std::string(s.substr(slash));
  const size_t colon = authority.rfind(':');
  url.host = std::string(authority.substr(0, colon));
  if (colon != absl::string_view::npos &&
      !absl::SimpleAtoi(authority.substr(colon + 1), &url.port)) {
    return false;
  }
  url.addr.sin_family = AF_INET;
  url.addr.sin_port = htons(static_cast<uint16_t>(url.port));
  if (inet_pton(AF_INET, url.host.c_str(), &url.addr.sin_addr) != 1) {
    return false;
  }
  // Traffic stays on this machine.
  return (ntohl(url.addr.sin_addr.s_addr) >> 24) == 127;
}

// ---------------------------------------------------------------- results

// What one client process measured; sent to the parent as raw bytes.
struct Results {
  uint64_t streams = 0;
  uint64_t ok = 0;
  uint64_t failed_connect = 0;   // connect() failed or refused
  uint64_t failed_timeout = 0;   // no response head within connect_timeout
  uint64_t failed_status = 0;    // response other than 200
  uint64_t failed_closed = 0;    // server closed the stream early
  uint64_t failed_protocol = 0;  // malformed HTTP
  uint64_t incomplete = 0;       // run ended before the stream's --events
  int last_bad_status = 0;
  uint64_t events = 0;              // "message" events
  uint64_t comments = 0;            // comment lines (heartbeats, ": ok")
  uint64_t heartbeat_comments = 0;  // comments after a stream's first
  uint64_t other_events = 0;        // named events other than done / error
  uint64_t done_events = 0;
  uint64_t error_events = 0;
  uint64_t unparsed = 0;       // message events without t= / seq=
  uint64_t out_of_order = 0;   // seq not above the stream's previous one
  uint64_t gaps = 0;           // seq values skipped
  uint64_t bytes = 0;          // body bytes
  int64_t first_event_ns = 0;  // CLOCK_MONOTONIC
  int64_t last_event_ns = 0;
  int64_t start_ns = 0;
  int64_t connected_ns = 0;  // every stream connected (or failed)
  int64_t end_ns = 0;        // run over, before closing
  uint64_t nofile = 0;
  Histogram latency;      // to the kernel's receive time
  Histogram latency_app;  // to when this client read it
  // With --events: latency by the event's place in its stream (tenths of
  // seq), to tell a start-up transient from a steady backlog.
  Histogram latency_by_tenth[10];
  Histogram ttfb;
  Histogram connect;
};
static_assert(std::is_trivially_copyable_v<Results>);

void Merge(Results& into, const Results& r) {
  into.streams += r.streams;
  into.ok += r.ok;
  into.failed_connect += r.failed_connect;
  into.failed_timeout += r.failed_timeout;
  into.failed_status += r.failed_status;
  into.failed_closed += r.failed_closed;
  into.failed_protocol += r.failed_protocol;
  into.incomplete += r.incomplete;
  if (r.last_bad_status != 0) into.last_bad_status = r.last_bad_status;
  into.events += r.events;
  into.comments += r.comments;
  into.heartbeat_comments += r.heartbeat_comments;
  into.other_events += r.other_events;
  into.done_events += r.done_events;
  into.error_events += r.error_events;
  into.unparsed += r.unparsed;
  into.out_of_order += r.out_of_order;
  into.gaps += r.gaps;
  into.bytes += r.bytes;
  auto min_set = [](int64_t a, int64_t b) {
    return a == 0 ? b : (b == 0 ? a : std::min(a, b));
  };
  into.first_event_ns = min_set(into.first_event_ns, r.first_event_ns);
  into.last_event_ns = std::max(into.last_event_ns, r.last_event_ns);
  into.start_ns = min_set(into.start_ns, r.start_ns);
  into.connected_ns = std::max(into.connected_ns, r.connected_ns);
  into.end_ns = std::max(into.end_ns, r.end_ns);
  into.nofile = r.nofile;
  into.latency.Merge(r.latency);
  into.latency_app.Merge(r.latency_app);
  for (int i = 0; i < 10; ++i) {
    into.latency_by_tenth[i].Merge(r.latency_by_tenth[i]);
  }
  into.ttfb.Merge(r.ttfb);
  into.connect.Merge(r.connect);
}

// Splits "t=<ns> seq=<n> ..." into its numbers; also inside the proto3 JSON
// a generic-method route makes of loadgen's Event, {"raw":"t=<ns> ..."}.
bool ParseStamp(absl::string_view data, int64_t& t_ns, uint64_t& seq) {
  absl::ConsumePrefix(&data, "{\"raw\":\"");
  if (!absl::ConsumePrefix(&data, "t=")) return false;
  size_t sp = data.find(' ');
  if (sp == absl::string_view::npos ||
      !absl::SimpleAtoi(data.substr(0, sp), &t_ns)) {
    return false;
  }
  data.remove_prefix(sp + 1);
  if (!absl::ConsumePrefix(&data, "seq=")) return false;
  sp = data.find(' ');
  return absl::SimpleAtoi(data.substr(0, sp), &seq);
}

// ---------------------------------------------------------------- client

class Client {
 public:
  Client(const Url& url, int streams, double connect_rate, int control_fd,
         int report_fd)
      : url_(url),
        streams_(streams),
        connect_rate_(connect_rate),
        control_fd_(control_fd),
        report_fd_(report_fd) {
    request_ = absl::StrCat("GET ", url.target, " HTTP/1.1\r\nHost: ", url.host,
                            ":", url.port,
                            "\r\nAccept: text/event-stream\r\n"
                            "Cache-Control: no-cache\r\n"
                            "User-Agent: sse_load\r\n\r\n");
    mux_streams_ = std::max(0, absl::GetFlag(FLAGS_mux_streams));
    // A mux connection is done once every sub-stream has had its events.
    events_target_ = absl::GetFlag(FLAGS_events) * std::max(1, mux_streams_);
    hold_ = absl::GetFlag(FLAGS_hold);
    life_ns_ = SecondsToNs(absl::GetFlag(FLAGS_stream_life));
    connect_timeout_ns_ = SecondsToNs(absl::GetFlag(FLAGS_connect_timeout));
    max_connecting_ = std::max(1, absl::GetFlag(FLAGS_max_connecting));
    from_first_event_ = absl::GetFlag(FLAGS_duration_from) == "first_event";
  }

  // Runs every phase; returns what it measured.
  Results Run(int64_t hard_deadline_ns);

 private:
  enum class State { kConnecting, kSending, kHead, kStreaming, kDone };
  struct Conn {
    int fd = -1;
    State state = State::kConnecting;
    int64_t t_open = 0;
    int64_t t_sent = 0;
    int64_t t_sent_real = 0;
    int64_t t_first_byte = 0;
    size_t sent = 0;
    uint64_t events = 0;
    uint64_t last_seq = 0;
    // A mux connection's last seq per alias (a handful: a linear search).
    std::vector<std::pair<std::string, uint64_t>> sub_seqs;
    bool target_reached = false;
    bool opened = false;  // saw the stream's first comment
    HttpResponseReader http;
    std::unique_ptr<Parser> parser;
  };

  void OpenOne(int64_t now);
  void OnIo(Conn& c, uint32_t ev);
  void OnWritable(Conn& c);
  void OnReadable(Conn& c);
  void OnHead(Conn& c);
  void OnEvent(Conn& c, ParsedEvent&& e);
  // Ends a stream; `ok` or one of the failure counters.
  void Finish(Conn& c, uint64_t* counter);
  void Sweep(int64_t now);
  bool AllSettled() const {  // every stream opened and past its head
    return opened_ == streams_ && waiting_head_ == 0;
  }

  const Url url_;
  const int streams_;
  const double connect_rate_;
  const int control_fd_;
  const int report_fd_;
  std::string request_;
  int64_t events_target_ = 0;
  int mux_streams_ = 0;
  bool hold_ = false;
  bool from_first_event_ = false;  // --duration_from=first_event
  int64_t life_ns_ = 0;
  int64_t connect_timeout_ns_ = 0;
  int max_connecting_ = 64;

  int epfd_ = -1;
  std::vector<std::unique_ptr<Conn>> conns_;
  int opened_ = 0;
  int waiting_head_ = 0;  // opened, no response head yet
  int live_ = 0;          // not kDone
  int64_t start_ns_ = 0;
  int64_t io_real_ns_ =
      0;  // CLOCK_REALTIME the kernel received the read's data
  int64_t io_app_real_ns_ = 0;  // CLOCK_REALTIME when the read returned
  int64_t io_mono_ns_ = 0;
  int64_t next_timeout_check_ = 0;
  std::deque<std::pair<int64_t, Conn*>> life_ends_;  // in first-byte order
  std::vector<char> buf_ = std::vector<char>(256 * 1024);
  Results r_;
};

void Client::OpenOne(int64_t now) {
  auto c = std::make_unique<Conn>();
  Conn& conn = *c;
  conns_.push_back(std::move(c));
  ++opened_;
  ++live_;
  ++waiting_head_;
  conn.t_open = now;
  conn.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (conn.fd < 0) {
    Log("socket: %s", strerror(errno));
    Finish(conn, &r_.failed_connect);
    return;
  }
  int one = 1;
  setsockopt(conn.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
  int rc = connect(conn.fd, reinterpret_cast<const sockaddr*>(&url_.addr),
                   sizeof(url_.addr));
  if (rc != 0 && errno != EINPROGRESS) {
    Log("connect: %s", strerror(errno));
    Finish(conn, &r_.failed_connect);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
  ev.data.ptr = &conn;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, conn.fd, &ev) != 0) {
    Finish(conn, &r_.failed_connect);
    return;
  }
}

void Client::Finish(Conn& c, uint64_t* counter) {
  if (c.state == State::kDone) return;
  if (c.state != State::kStreaming) --waiting_head_;
  c.state = State::kDone;
  --live_;
  ++*counter;
  if (c.fd >= 0) {
    close(c.fd);  // also leaves the epoll set
    c.fd = -1;
  }
  c.parser.reset();  // (the HTTP reader may be mid-Feed: left alone)
}

void Client::OnIo(Conn& c, uint32_t ev) {
  if (c.state == State::kConnecting || c.state == State::kSending) {
    if (ev & (EPOLLERR | EPOLLHUP)) {
      Finish(c, &r_.failed_connect);
      return;
    }
    if (ev & EPOLLOUT) OnWritable(c);
    if (c.state == State::kDone) return;
  }
  if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) OnReadable(c);
}

void Client::OnWritable(Conn& c) {
  if (c.state == State::kConnecting) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      Log("connect: %s", strerror(err));
      Finish(c, &r_.failed_connect);
      return;
    }
    r_.connect.Record(MonoNs() - c.t_open);
    c.state = State::kSending;
  }
  while (c.sent < request_.size()) {
    const ssize_t n = send(c.fd, request_.data() + c.sent,
                           request_.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;
    } else {
      Finish(c, &r_.failed_connect);
      return;
    }
  }
  c.t_sent = MonoNs();
  c.t_sent_real = RealNs();
  c.state = State::kHead;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.ptr = &c;
  epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void Client::OnReadable(Conn& c) {
  // A few reads per wake-up so one busy stream does not starve the others.
  for (int round = 0; round < 4 && c.state != State::kDone; ++round) {
    iovec iov{buf_.data(), buf_.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec)) * 2];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = recvmsg(c.fd, &msg, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {  // EOF or reset
      if (c.state != State::kStreaming) {
        Finish(c, c.state == State::kHead && c.t_first_byte == 0
                      ? &r_.failed_closed
                      : &r_.failed_protocol);
      } else if (c.target_reached) {
        Finish(c, &r_.ok);
      } else {
        Finish(c, &r_.failed_closed);
      }
      return;
    }
    io_mono_ns_ = MonoNs();
    io_app_real_ns_ = RealNs();
    // When the kernel received the newest bytes of this read (SO_TIMESTAMPNS):
    // latency without this client's own scheduling delay.
    io_real_ns_ = io_app_real_ns_;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr;
         cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts;
        std::memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
        const int64_t k = int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
        if (k > 0 && k <= io_app_real_ns_) io_real_ns_ = k;
      }
    }
    if (c.t_first_byte == 0) {
      c.t_first_byte = io_mono_ns_;
      r_.ttfb.Record(io_real_ns_ - c.t_sent_real);
    }
    const absl::string_view in(buf_.data(), static_cast<size_t>(n));
    // The body callback runs only once the head is parsed; OnHead may end
    // the stream (non-200), after which the rest is ignored.
    const bool good = c.http.Feed(in, [&](absl::string_view body) {
      if (c.state == State::kHead) OnHead(c);
      if (c.state != State::kStreaming) return;
      r_.bytes += body.size();
      c.parser->Feed(body);
    });
    if (c.state == State::kDone) return;
    if (!good) {
      Finish(c, &r_.failed_protocol);
      return;
    }
    if (c.state == State::kHead && c.http.head_done()) {
      OnHead(c);  // a head without body bytes yet
      if (c.state == State::kDone) return;
    }
    if (c.state == State::kStreaming && c.target_reached) {
      Finish(c, &r_.ok);
      return;
    }
    if (c.state == State::kStreaming && c.http.complete()) {
      // The server ended the response (a non-streaming reply).
      Finish(c, c.target_reached ? &r_.ok : &r_.failed_closed);
      return;
    }
    if (static_cast<size_t>(n) < buf_.size()) return;
  }
}

void Client::OnHead(Conn& c) {
  if (c.http.status() != 200) {
    r_.last_bad_status = c.http.status();
    Finish(c, &r_.failed_status);
    return;
  }
  c.state = State::kStreaming;
  --waiting_head_;
  Conn* conn = &c;
  c.parser = std::make_unique<Parser>(
      [this, conn](ParsedEvent&& e) { OnEvent(*conn, std::move(e)); },
      [this, conn](absl::string_view) {
        ++r_.comments;
        // The first comment opens the stream (": ok", nchan's ": hi").
        if (conn->opened) {
          ++r_.heartbeat_comments;
        } else {
          conn->opened = true;
        }
      });
  if (life_ns_ > 0) life_ends_.emplace_back(c.t_first_byte + life_ns_, &c);
}

void Client::OnEvent(Conn& c, ParsedEvent&& e) {
  // Where this event's stream keeps its last seq.
  uint64_t* last_seq = &c.last_seq;
  // A mux connection names a sub-stream's unnamed events after its alias
  // and its others ALIAS.EVENT; its own end is a plain done / error. (An
  // alias "done" or "error" would be taken for the end: run_bench uses
  // none.)
  const bool message = mux_streams_ > 0
                           ? e.type.find('.') == std::string::npos &&
                                 e.type != "done" && e.type != "error"
                           : e.type == "message";
  if (!message) {
    absl::string_view name = e.type;
    if (mux_streams_ > 0 && name.find('.') != absl::string_view::npos) {
      name.remove_prefix(name.find('.') + 1);
    }
    if (name == "done") {
      ++r_.done_events;
    } else if (name == "error") {
      ++r_.error_events;
    } else {
      ++r_.other_events;
    }
    return;
  }
  if (mux_streams_ > 0) {
    auto it = std::find_if(c.sub_seqs.begin(), c.sub_seqs.end(),
                           [&](const auto& s) { return s.first == e.type; });
    if (it == c.sub_seqs.end()) {
      c.sub_seqs.emplace_back(e.type, 0);
      it = c.sub_seqs.end() - 1;
    }
    last_seq = &it->second;
  }
  ++r_.events;
  ++c.events;
  if (r_.first_event_ns == 0) r_.first_event_ns = io_mono_ns_;
  r_.last_event_ns = io_mono_ns_;
  int64_t t_ns = 0;
  uint64_t seq = 0;
  if (!ParseStamp(e.data, t_ns, seq)) {
    ++r_.unparsed;
  } else {
    r_.latency.Record(io_real_ns_ - t_ns);
    static const int64_t n = absl::GetFlag(FLAGS_events);  // read once
    if (n > 0 && seq >= 1) {
      const uint64_t tenth = (seq - 1) * 10 / static_cast<uint64_t>(n);
      r_.latency_by_tenth[std::min<uint64_t>(tenth, 9)].Record(io_real_ns_ -
                                                               t_ns);
    }
    r_.latency_app.Record(io_app_real_ns_ - t_ns);
    if (*last_seq != 0) {
      if (seq <= *last_seq) {
        ++r_.out_of_order;
      } else if (seq != *last_seq + 1) {
        r_.gaps += seq - *last_seq - 1;
      }
    }
    *last_seq = std::max(*last_seq, seq);
  }
  if (events_target_ > 0 && c.events >= static_cast<uint64_t>(events_target_)) {
    c.target_reached = true;  // closed once this read is parsed
  }
}

void Client::Sweep(int64_t now) {
  while (!life_ends_.empty() && life_ends_.front().first <= now) {
    Conn* c = life_ends_.front().second;
    life_ends_.pop_front();
    if (c->state == State::kStreaming) Finish(*c, &r_.ok);
  }
  if (waiting_head_ == 0 || now < next_timeout_check_) return;
  next_timeout_check_ = now + 100'000'000;
  for (auto& c : conns_) {
    if (c->state != State::kDone && c->state != State::kStreaming &&
        now - c->t_open > connect_timeout_ns_) {
      Finish(*c, c->state == State::kHead ? &r_.failed_timeout
                                          : &r_.failed_connect);
    }
  }
}

Results Client::Run(int64_t hard_deadline_ns) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  r_.nofile = rl.rlim_cur;
  r_.streams = static_cast<uint64_t>(streams_);
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (control_fd_ >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, control_fd_, &ev);
  }
  conns_.reserve(static_cast<size_t>(streams_));
  start_ns_ = MonoNs();
  r_.start_ns = start_ns_;
  const double duration_s = absl::GetFlag(FLAGS_duration);
  enum class Phase { kConnect, kRun, kWaitParent } phase = Phase::kConnect;
  // Set once the measuring window has started (--duration_from).
  int64_t run_deadline = hard_deadline_ns;
  bool window_started = false;
  int64_t wait_deadline = hard_deadline_ns;
  int64_t next_sweep = start_ns_;
  std::vector<epoll_event> events(1024);
  bool released = false;
  while (!released) {
    int64_t now = MonoNs();
    if (now >= hard_deadline_ns) break;
    // Open what the connect schedule allows.
    if (phase == Phase::kConnect) {
      int due = streams_;
      if (connect_rate_ > 0) {
        due = std::min<int64_t>(
            streams_,
            1 + static_cast<int64_t>(static_cast<double>(now - start_ns_) *
                                     connect_rate_ / 1e9));
      }
      while (opened_ < due && waiting_head_ < max_connecting_) OpenOne(now);
    }
    if (now >= next_sweep) {
      Sweep(now);
      next_sweep = now + 10'000'000;
    }
    if (phase == Phase::kConnect && AllSettled()) {
      phase = Phase::kRun;
      r_.connected_ns = MonoNs();
      Log("%d streams settled in %.3f s", streams_,
          static_cast<double>(r_.connected_ns - start_ns_) / 1e9);
      (void)!write(report_fd_, "C", 1);
    }
    if (phase == Phase::kRun && !window_started &&
        (!from_first_event_ || r_.first_event_ns != 0)) {
      window_started = true;
      const int64_t from = std::max(r_.connected_ns, r_.first_event_ns);
      run_deadline = std::min(hard_deadline_ns, from + SecondsToNs(duration_s));
      if (from_first_event_) {
        Log("first event %.3f s after the streams settled",
            static_cast<double>(r_.first_event_ns - r_.connected_ns) / 1e9);
      }
    }
    if (phase == Phase::kRun && (live_ == 0 || now >= run_deadline)) {
      phase = Phase::kWaitParent;
      r_.end_ns = MonoNs();
      wait_deadline = std::min(hard_deadline_ns, now + 15'000'000'000);
      (void)!write(report_fd_, "E", 1);
      if (control_fd_ < 0) break;
    }
    if (phase == Phase::kWaitParent && now >= wait_deadline) break;
    // Sleep until the next connect is due, the next sweep, or I/O.
    int64_t wake = std::min(next_sweep, hard_deadline_ns);
    if (phase == Phase::kConnect && opened_ < streams_ && connect_rate_ > 0) {
      wake = std::min<int64_t>(
          wake, start_ns_ + static_cast<int64_t>(static_cast<double>(opened_) *
                                                 1e9 / connect_rate_));
    }
    if (phase == Phase::kRun) wake = std::min(wake, run_deadline);
    const int timeout_ms = static_cast<int>(
        std::clamp<int64_t>((wake - now + 999'999) / 1'000'000, 0, 1000));
    const int n = epoll_wait(epfd_, events.data(),
                             static_cast<int>(events.size()), timeout_ms);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {  // the parent says: close now
        char b;
        (void)!read(control_fd_, &b, 1);
        released = true;
        continue;
      }
      Conn& c = *static_cast<Conn*>(events[i].data.ptr);
      if (c.state != State::kDone) OnIo(c, events[i].events);
    }
  }
  if (r_.connected_ns == 0) r_.connected_ns = MonoNs();
  if (r_.end_ns == 0) r_.end_ns = MonoNs();
  // Whatever is still open: held long enough, or short of its --events.
  for (auto& c : conns_) {
    if (c->state == State::kDone) continue;
    if (c->state != State::kStreaming) {
      Finish(*c, &r_.failed_timeout);
    } else if (events_target_ > 0 && !c->target_reached) {
      Finish(*c, &r_.incomplete);
    } else {
      Finish(*c, &r_.ok);
    }
  }
  close(epfd_);
  return r_;
}

// ---------------------------------------------------------------- publisher

struct PublishResults {
  uint64_t published = 0;
  uint64_t errors = 0;
  int last_status = 0;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
};
static_assert(std::is_trivially_copyable_v<PublishResults>);

// Publishes --publish_count messages over one keep-alive connection
// (reconnecting when the server closes it), each stamped like loadgen's
// events, until done or the deadline.
PublishResults Publish(const Url& url, int64_t deadline_ns) {
  PublishResults pr;
  const std::string format = absl::GetFlag(FLAGS_publish_format);
  const std::string channel = absl::GetFlag(FLAGS_publish_channel);
  const int64_t count = absl::GetFlag(FLAGS_publish_count);
  const double rate = absl::GetFlag(FLAGS_publish_rate);
  const size_t bytes = static_cast<size_t>(absl::GetFlag(FLAGS_publish_bytes));
  pr.start_ns = MonoNs();
  int fd = -1;
  std::vector<char> buf(64 * 1024);
  for (int64_t seq = 1; seq <= count && MonoNs() < deadline_ns; ++seq) {
    if (rate > 0) {
      const int64_t due =
          pr.start_ns +
          static_cast<int64_t>(static_cast<double>(seq - 1) * 1e9 / rate);
      const int64_t wait = due - MonoNs();
      if (wait > 0) {
        timespec ts{static_cast<time_t>(wait / 1'000'000'000),
                    static_cast<long>(wait % 1'000'000'000)};
        nanosleep(&ts, nullptr);
      }
    }
    std::string payload = absl::StrCat("t=", RealNs(), " seq=", seq, " ");
    if (payload.size() < bytes) payload.append(bytes - payload.size(), 'x');
    std::string body, type;
    if (format == "pushpin") {
      type = "application/json";
      body = absl::StrCat(R"({"items":[{"channel":")", channel,
                          R"(","formats":{"http-stream":{"content":"data: )",
                          payload, R"(\n\n"}}}]})");
    } else {
      type = "text/plain";
      body = std::move(payload);
    }
    const std::string req =
        absl::StrCat("POST ", url.target, " HTTP/1.1\r\nHost: ", url.host, ":",
                     url.port, "\r\nContent-Type: ", type,
                     "\r\nContent-Length: ", body.size(), "\r\n\r\n", body);
    bool done = false;
    for (int attempt = 0; attempt < 3 && !done; ++attempt) {
      if (fd < 0) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        timeval tv{5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, reinterpret_cast<const sockaddr*>(&url.addr),
                    sizeof(url.addr)) != 0) {
          close(fd);
          fd = -1;
          continue;
        }
      }
      if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(req.size())) {
        close(fd);
        fd = -1;
        continue;
      }
      HttpResponseReader http;
      bool alive = true;
      while (!http.complete()) {
        const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
        if (n <= 0) {
          alive = false;
          break;
        }
        if (!http.Feed(absl::string_view(buf.data(), static_cast<size_t>(n)),
                       [](absl::string_view) {})) {
          alive = false;
          break;
        }
      }
      if (http.head_done()) {
        done = true;  // answered, even if the connection closes after it
        pr.last_status = http.status();
        if (http.status() / 100 == 2) {
          ++pr.published;
        } else {
          ++pr.errors;
        }
      }
      const auto conn_header = http.Header("connection");
      if (!alive ||
          (conn_header && absl::EqualsIgnoreCase(*conn_header, "close"))) {
        close(fd);
        fd = -1;
      }
    }
    if (!done) ++pr.errors;
  }
  if (fd >= 0) close(fd);
  pr.end_ns = MonoNs();
  return pr;
}

// ---------------------------------------------------------------- servers

struct ServerSample {
  double cpu_ms = 0;  // utime + stime
  int64_t rss_kb = 0;
};

struct Server {
  std::string label;
  std::vector<int> pids;
  ServerSample at[3];  // start, connected, end
};

ServerSample SampleProcess(int pid) {
  ServerSample s;
  {
    std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
    std::string stat((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    const size_t paren = stat.rfind(')');
    if (paren != std::string::npos) {
      // Fields after "(comm)": state is field 3; utime 14, stime 15.
      std::vector<absl::string_view> f =
          absl::StrSplit(absl::string_view(stat).substr(paren + 2), ' ');
      uint64_t ut = 0, st = 0;
      if (f.size() > 12 && absl::SimpleAtoi(f[11], &ut) &&
          absl::SimpleAtoi(f[12], &st)) {
        s.cpu_ms = static_cast<double>(ut + st) * 1000.0 /
                   static_cast<double>(sysconf(_SC_CLK_TCK));
      }
    }
  }
  s.rss_kb = std::max<int64_t>(0, ssebridge::testing::VmRssKb(pid));
  return s;
}

std::vector<Server> ParseServers(absl::string_view spec) {
  std::vector<Server> out;
  for (absl::string_view part : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    const size_t colon = part.find(':');
    Server s;
    s.label = std::string(part.substr(0, colon));
    if (colon != absl::string_view::npos) {
      for (absl::string_view p :
           absl::StrSplit(part.substr(colon + 1), '+', absl::SkipEmpty())) {
        int pid = 0;
        if (absl::SimpleAtoi(p, &pid)) s.pids.push_back(pid);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

void SampleServers(std::vector<Server>& servers, int point) {
  for (Server& s : servers) {
    ServerSample sum;
    for (int pid : s.pids) {
      ServerSample one = SampleProcess(pid);
      sum.cpu_ms += one.cpu_ms;
      sum.rss_kb += one.rss_kb;
    }
    s.at[point] = sum;
  }
}

// ---------------------------------------------------------------- parent

// Reads everything a child reports: 'C', 'E', then 'R' + Results.
struct ChildPipe {
  pid_t pid = -1;
  int report_fd = -1;   // child -> parent
  int control_fd = -1;  // parent -> child
  std::string in;
  bool connected = false;
  bool ended = false;
  bool have_results = false;
  bool eof = false;
  Results results;
};

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string HistJson(const Histogram& h, bool p90) {
  std::string out = absl::StrFormat("{\"p50\":%.3f", Ms(h.Percentile(0.50)));
  if (p90) absl::StrAppendFormat(&out, ",\"p90\":%.3f", Ms(h.Percentile(0.90)));
  absl::StrAppendFormat(&out, ",\"p99\":%.3f,\"max\":%.3f,\"n\":%d}",
                        Ms(h.Percentile(0.99)), Ms(h.max()), h.count());
  return out;
}

int Main() {
  g_verbose = absl::GetFlag(FLAGS_verbose);
  signal(SIGPIPE, SIG_IGN);
  Url url;
  if (!ParseUrl(absl::GetFlag(FLAGS_url), url)) {
    std::fprintf(stderr,
                 "sse_load: --url must be http://127.0.0.1:PORT/path (got "
                 "\"%s\")\n",
                 absl::GetFlag(FLAGS_url).c_str());
    return 2;
  }
  if (const std::string from = absl::GetFlag(FLAGS_duration_from);
      from != "connected" && from != "first_event") {
    std::fprintf(stderr,
                 "sse_load: --duration_from must be connected or first_event "
                 "(got \"%s\")\n",
                 from.c_str());
    return 2;
  }
  Url pub_url;
  const bool publish = !absl::GetFlag(FLAGS_publish_url).empty();
  if (publish && !ParseUrl(absl::GetFlag(FLAGS_publish_url), pub_url)) {
    std::fprintf(stderr, "sse_load: bad --publish_url\n");
    return 2;
  }
  const int streams = std::max(0, absl::GetFlag(FLAGS_streams));
  const int procs = std::clamp(absl::GetFlag(FLAGS_procs), 1, 64);
  const double rate = absl::GetFlag(FLAGS_connect_rate);
  const int64_t start = MonoNs();
  const int64_t hard_deadline =
      start +
      SecondsToNs(std::clamp(absl::GetFlag(FLAGS_max_time), 1.0, 600.0));

  // Raise the descriptor limit as far as allowed; children inherit it.
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  const int per_proc = (streams + procs - 1) / procs;
  if (static_cast<uint64_t>(per_proc) + 64 > rl.rlim_cur) {
    std::fprintf(stderr,
                 "sse_load: %d streams per process do not fit RLIMIT_NOFILE "
                 "%llu; use more --procs\n",
                 per_proc, static_cast<unsigned long long>(rl.rlim_cur));
    return 2;
  }

  std::vector<Server> servers = ParseServers(absl::GetFlag(FLAGS_server_pids));
  SampleServers(servers, 0);

  // The publisher waits for a byte on its pipe, publishes, reports.
  pid_t pub_pid = -1;
  int pub_go = -1, pub_report = -1;
  if (publish) {
    int go[2], rep[2];
    if (pipe2(go, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0) return 1;
    pub_pid = fork();
    if (pub_pid == 0) {
      close(go[1]);
      close(rep[0]);
      pollfd p{go[0], POLLIN, 0};
      const int64_t left = (hard_deadline - MonoNs()) / 1'000'000;
      PublishResults pr;
      char b;
      if (poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 0))) == 1 &&
          read(go[0], &b, 1) == 1) {
        pr = Publish(pub_url, hard_deadline);
      }
      (void)!write(rep[1], &pr, sizeof(pr));
      _exit(0);
    }
    close(go[0]);
    close(rep[1]);
    pub_go = go[1];
    pub_report = rep[0];
  }

  std::vector<ChildPipe> children(static_cast<size_t>(procs));
  for (int i = 0; i < procs; ++i) {
    const int share = streams / procs + (i < streams % procs ? 1 : 0);
    int rep[2], ctl[2];
    if (pipe2(rep, O_CLOEXEC) != 0 || pipe2(ctl, O_CLOEXEC) != 0) return 1;
    const pid_t pid = fork();
    if (pid == 0) {
      close(rep[0]);
      close(ctl[1]);
      for (int j = 0; j < i; ++j) {  // siblings' pipes
        close(children[static_cast<size_t>(j)].report_fd);
        close(children[static_cast<size_t>(j)].control_fd);
      }
      if (pub_go >= 0) close(pub_go);
      if (pub_report >= 0) close(pub_report);
      Client client(url, share, rate / procs, ctl[0], rep[1]);
      Results r = client.Run(hard_deadline);
      std::string out = "R";
      out.append(reinterpret_cast<const char*>(&r), sizeof(r));
      size_t off = 0;
      while (off < out.size()) {
        const ssize_t n = write(rep[1], out.data() + off, out.size() - off);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      _exit(0);
    }
    close(rep[1]);
    close(ctl[0]);
    children[static_cast<size_t>(i)].pid = pid;
    children[static_cast<size_t>(i)].report_fd = rep[0];
    children[static_cast<size_t>(i)].control_fd = ctl[1];
  }

  // Coordinate until every child has reported (bounded by the deadline plus
  // the children's own closing time).
  bool all_connected = false, all_ended = false;
  const int64_t parent_deadline = hard_deadline + 20'000'000'000;
  while (MonoNs() < parent_deadline) {
    std::vector<pollfd> fds;
    std::vector<ChildPipe*> who;
    for (auto& c : children) {
      if (!c.eof) {
        fds.push_back(pollfd{c.report_fd, POLLIN, 0});
        who.push_back(&c);
      }
    }
    if (fds.empty()) break;
    if (poll(fds.data(), fds.size(), 200) < 0 && errno != EINTR) break;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ChildPipe& c = *who[i];
      char tmp[65536];
      const ssize_t n = read(c.report_fd, tmp, sizeof(tmp));
      if (n <= 0) {
        c.eof = true;
        continue;
      }
      c.in.append(tmp, static_cast<size_t>(n));
      while (!c.in.empty() && !c.have_results) {
        if (c.in[0] == 'C') {
          c.connected = true;
          c.in.erase(0, 1);
        } else if (c.in[0] == 'E') {
          c.ended = true;
          c.connected = true;
          c.in.erase(0, 1);
        } else if (c.in[0] == 'R' && c.in.size() >= 1 + sizeof(Results)) {
          std::memcpy(&c.results, c.in.data() + 1, sizeof(Results));
          c.have_results = true;
          c.connected = c.ended = true;
          c.in.clear();
        } else {
          break;  // partial results
        }
      }
    }
    if (!all_connected &&
        std::all_of(children.begin(), children.end(),
                    [](const ChildPipe& c) { return c.connected; })) {
      all_connected = true;
      SampleServers(servers, 1);
      if (pub_go >= 0) (void)!write(pub_go, "G", 1);
    }
    if (all_connected && !all_ended &&
        std::all_of(children.begin(), children.end(),
                    [](const ChildPipe& c) { return c.ended; })) {
      all_ended = true;
      SampleServers(servers, 2);
      for (auto& c : children) (void)!write(c.control_fd, "X", 1);
    }
  }
  if (!all_connected) SampleServers(servers, 1);
  if (!all_ended) SampleServers(servers, 2);
  Results total;
  bool missing = false;
  for (auto& c : children) {
    if (!c.have_results) {
      missing = true;
      kill(c.pid, SIGKILL);
    }
    waitpid(c.pid, nullptr, 0);
    close(c.report_fd);
    close(c.control_fd);
    if (c.have_results) Merge(total, c.results);
  }
  PublishResults pr;
  if (pub_pid > 0) {
    close(pub_go);  // a publisher still waiting gives up
    pollfd p{pub_report, POLLIN, 0};
    if (poll(&p, 1, 10'000) == 1) {
      (void)!read(pub_report, &pr, sizeof(pr));
    } else {
      kill(pub_pid, SIGKILL);
    }
    waitpid(pub_pid, nullptr, 0);
    close(pub_report);
  }

  // CPU of every client process and the publisher (all reaped above).
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  const double client_cpu_ms =
      static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
      static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  const uint64_t failed = total.failed_connect + total.failed_timeout +
                          total.failed_status + total.failed_closed +
                          total.failed_protocol + total.incomplete;
  const double window_s =
      static_cast<double>(total.last_event_ns - total.first_event_ns) / 1e9;
  std::string json = absl::StrFormat(
      "{\"streams\":%d,\"ok\":%d,\"failed\":%d,"
      "\"failed_by\":{\"connect\":%d,\"timeout\":%d,\"status\":%d,"
      "\"closed\":%d,\"protocol\":%d,\"incomplete\":%d},\"bad_status\":%d,"
      "\"events\":%d,\"events_per_s\":%.0f,\"event_window_s\":%.3f,"
      "\"heartbeats\":%d,\"comments\":%d,\"other_events\":%d,"
      "\"done_events\":%d,\"error_events\":%d,\"unparsed\":%d,"
      "\"out_of_order\":%d,\"gaps\":%d,\"body_bytes\":%d,",
      total.streams, total.ok, failed, total.failed_connect,
      total.failed_timeout, total.failed_status, total.failed_closed,
      total.failed_protocol, total.incomplete, total.last_bad_status,
      total.events,
      window_s > 0 ? static_cast<double>(total.events) / window_s : 0.0,
      window_s, total.heartbeat_comments + total.other_events, total.comments,
      total.other_events, total.done_events, total.error_events, total.unparsed,
      total.out_of_order, total.gaps, total.bytes);
  absl::StrAppend(&json, "\"latency_ms\":", HistJson(total.latency, true),
                  ",\"latency_app_ms\":", HistJson(total.latency_app, true),
                  ",\"ttfb_ms\":", HistJson(total.ttfb, false),
                  ",\"connect_ms\":", HistJson(total.connect, false));
  if (absl::GetFlag(FLAGS_events) > 0) {
    absl::StrAppend(&json, ",\"latency_by_tenth_ms\":[");
    for (int i = 0; i < 10; ++i) {
      absl::StrAppend(&json, i ? "," : "",
                      HistJson(total.latency_by_tenth[i], true));
    }
    absl::StrAppend(&json, "]");
  }
  absl::StrAppendFormat(
      &json,
      ",\"connect_phase_s\":%.3f,\"run_s\":%.3f,\"duration_s\":%.3f,"
      "\"procs\":%d,\"nofile\":%d,\"client_cpu_ms\":%.0f,\"complete\":%s,"
      "\"mux_streams\":%d",
      static_cast<double>(total.connected_ns - start) / 1e9,
      static_cast<double>(total.end_ns - total.connected_ns) / 1e9,
      static_cast<double>(MonoNs() - start) / 1e9, procs, total.nofile,
      client_cpu_ms, missing ? "false" : "true",
      std::max(0, absl::GetFlag(FLAGS_mux_streams)));
  if (pub_pid > 0) {
    absl::StrAppendFormat(
        &json,
        ",\"publish\":{\"published\":%d,\"errors\":%d,\"last_status\":%d,"
        "\"seconds\":%.3f}",
        pr.published, pr.errors, pr.last_status,
        static_cast<double>(pr.end_ns - pr.start_ns) / 1e9);
  }
  json.append(",\"servers\":{");
  for (size_t i = 0; i < servers.size(); ++i) {
    const Server& s = servers[i];
    absl::StrAppendFormat(&json,
                          "%s\"%s\":{\"pids\":%d,\"cpu_ms\":[%.0f,%.0f,%.0f],"
                          "\"rss_kb\":[%d,%d,%d]}",
                          i == 0 ? "" : ",", s.label, s.pids.size(),
                          s.at[0].cpu_ms, s.at[1].cpu_ms, s.at[2].cpu_ms,
                          s.at[0].rss_kb, s.at[1].rss_kb, s.at[2].rss_kb);
  }
  json.append("}}");
  std::printf("%s\n", json.c_str());
  return missing ? 1 : 0;
}

}  // namespace
}  // namespace ssebridge::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "sse_load --url=http://127.0.0.1:PORT/path --streams=N [options]");
  absl::ParseCommandLine(argc, argv);
  return ssebridge::bench::Main();
}

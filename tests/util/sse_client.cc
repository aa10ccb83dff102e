#include "tests/util/sse_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace ssebridge::testing {

SseClient::SseClient()
    : parser_([this](common::sse::ParsedEvent&& e) {
                events_.push_back(std::move(e));
              },
              [this](absl::string_view c) { comments_.emplace_back(c); }) {}

SseClient::~SseClient() { Close(); }

bool SseClient::Connect(int port) {
  port_ = port;
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Close();
    return false;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return true;
}

bool SseClient::SendAll(absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool SseClient::Get(absl::string_view target,
                    const std::vector<std::string>& extra) {
  std::string req = absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1:",
                                 port_, "\r\nAccept: text/event-stream\r\n");
  for (const auto& h : extra) absl::StrAppend(&req, h, "\r\n");
  req.append("\r\n");
  return SendAll(req);
}

bool SseClient::Post(absl::string_view target, absl::string_view content_type,
                     absl::string_view body,
                     const std::vector<std::string>& extra) {
  std::string req = absl::StrCat(
      "POST ", target, " HTTP/1.1\r\nHost: 127.0.0.1:", port_,
      "\r\nContent-Type: ", content_type, "\r\nContent-Length: ", body.size(),
      "\r\n");
  for (const auto& h : extra) absl::StrAppend(&req, h, "\r\n");
  absl::StrAppend(&req, "\r\n", body);
  return SendAll(req);
}

bool SseClient::ReadSome(absl::Duration timeout) {
  if (fd_ < 0 || eof_) return false;
  pollfd p{fd_, POLLIN, 0};
  int ms = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
  if (poll(&p, 1, ms) <= 0) return false;
  char buf[65536];
  ssize_t n = recv(fd_, buf, sizeof(buf), 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  absl::string_view data(buf, static_cast<size_t>(n));
  if (!head_done_) {
    head_buf_.append(data.data(), data.size());
    size_t end = head_buf_.find("\r\n\r\n");
    if (end == std::string::npos) return true;
    head_done_ = true;
    std::string head = head_buf_.substr(0, end);
    std::string rest = head_buf_.substr(end + 4);
    std::vector<std::string> lines = absl::StrSplit(head, "\r\n");
    std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
    if (first.size() >= 2) (void)absl::SimpleAtoi(first[1], &status_);
    for (size_t i = 1; i < lines.size(); ++i) {
      size_t colon = lines[i].find(':');
      if (colon == std::string::npos) continue;
      headers_[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
          std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
    }
    ConsumeBody(rest);
    return true;
  }
  ConsumeBody(data);
  return true;
}

void SseClient::ConsumeBody(absl::string_view bytes) {
  body_.append(bytes.data(), bytes.size());
  parser_.Feed(bytes);
}

bool SseClient::ReadHead(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!head_done_ && absl::Now() < deadline) {
    if (!ReadSome(deadline - absl::Now()) && eof_) break;
  }
  return head_done_;
}

bool SseClient::ReadUntil(const std::function<bool()>& done,
                          absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  if (!head_done_ && !ReadHead(timeout)) return done();
  while (!done() && !eof_ && absl::Now() < deadline) {
    ReadSome(deadline - absl::Now());
  }
  return done();
}

bool SseClient::ReadToEof(absl::Duration timeout) {
  ReadUntil([this] { return eof_; }, timeout);
  return eof_;
}

std::string SseClient::header(const std::string& lower_name) const {
  auto it = headers_.find(lower_name);
  return it == headers_.end() ? "" : it->second;
}

void SseClient::Close() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

}  // namespace ssebridge::testing

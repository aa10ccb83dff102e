// libFuzzer target: HTTP request handling of the frontend. Each input is
// sent as raw bytes on a fresh loopback connection to one in-process
// FrontendServer (with a real in-process gRPC test backend), followed by a
// half-close; the response is read until the server closes. Before that the
// pure request helpers (percent-decoding, form and JSON bodies, static path
// confinement) get the same bytes. The server must answer or close every
// connection, and keep serving: every 256th input checks /healthz.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "frontend/http/frontend_server.h"
#include "frontend/http/http_util.h"
#include "frontend/http/static_files.h"
#include "spdlog/spdlog.h"
#include "tests/util/test_service.h"

namespace {

using ssebridge::frontend::FrontendServer;

struct Harness {
  std::unique_ptr<ssebridge::testing::TestServer> backend;
  std::unique_ptr<FrontendServer> frontend;
  std::unique_ptr<ssebridge::frontend::StaticFiles> statics;
};

Harness& Get() {
  static Harness* h = [] {
    spdlog::set_level(spdlog::level::off);
    auto* h = new Harness;
    h->backend = std::make_unique<ssebridge::testing::TestServer>();
    ssebridge::config::v1::FrontendConfig cfg;
    cfg.mutable_listen()->set_port(0);
    cfg.mutable_listen()->mutable_header_timeout()->set_seconds(1);
    cfg.mutable_listen()->set_max_request_bytes(64 * 1024);
    auto* b = cfg.add_backends();
    b->set_name("t");
    b->set_target(h->backend->target());
    for (const char* a : {"tokens", "echo"}) {
      auto* r = cfg.add_routes();
      r->set_path(absl::StrCat("/", a));
      r->add_methods("GET");
      r->add_methods("POST");
      r->set_backend("t");
      r->add_forward_headers("x-request-id");
      r->add_forward_headers("cookie");
    }
    cfg.add_cors_origins("https://app.example.com");
    cfg.set_static_root("/usr/share/doc/libpistache0");
    h->frontend = std::move(*FrontendServer::Create(cfg));
    if (!h->frontend->Start().ok()) abort();
    h->statics = std::make_unique<ssebridge::frontend::StaticFiles>(
        "/usr/share/doc/libpistache0");
    return h;
  }();
  return *h;
}

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) abort();
  return fd;
}

// Reads until EOF; false if the server neither answered nor closed in time.
bool Drain(int fd, int timeout_ms, std::string* out) {
  char buf[16384];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return true;
    if (out) out->append(buf, static_cast<size_t>(n));
  }
}

// Stops the servers' threads before exit() destroys the statics they use
// (a transport thread once read freed memory after libFuzzer's final exit).
// Registered after the first input, so it runs before the destructors of
// everything constructed until then, gRPC's and spdlog's included.
void StopServers() {
  Harness& h = Get();
  h.frontend->Shutdown(absl::Seconds(1));
  h.frontend.reset();
  h.backend.reset();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Harness& h = Get();
  const std::string in(reinterpret_cast<const char*>(data), size);
  ssebridge::frontend::ParamMap params;
  (void)ssebridge::frontend::PercentDecode(in, true);
  (void)ssebridge::frontend::ParseUrlEncoded(in, params);
  (void)ssebridge::frontend::ParseJsonObject(in, params);
  (void)h.statics->Load(in);

  int fd = Connect(h.frontend->port());
  (void)!send(fd, in.data(), in.size(), MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);
  // Header timeout is 1 s: a server that neither answers nor closes within
  // 3 s is hung.
  if (!Drain(fd, 3000, nullptr)) abort();
  close(fd);

  static int n = 0;
  if (n == 0) std::atexit(StopServers);
  if (++n % 256 == 0) {
    int probe = Connect(h.frontend->port());
    const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    (void)!send(probe, req.data(), req.size(), MSG_NOSIGNAL);
    std::string resp;
    Drain(probe, 3000, &resp);
    close(probe);
    if (resp.rfind("HTTP/1.1 200", 0) != 0) abort();
  }
  return 0;
}

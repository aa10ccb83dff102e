// Small helpers shared by the integration, reliability, soak and service
// tests: bounded waiting, a free loopback port, and reading the port from the
// frontend binary's "listening on http://HOST:PORT/" line. Thread-safe.
#ifndef SSEBRIDGE_TESTS_UTIL_TEST_UTIL_H_
#define SSEBRIDGE_TESTS_UTIL_TEST_UTIL_H_

#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ssebridge::testing {

// Polls `pred` every 5 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& pred, absl::Duration timeout);

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, close).
int FreeLoopbackPort();

// The port in "listening on http://127.0.0.1:PORT/", or 0.
int PortFromListeningLine(absl::string_view line);

}  // namespace ssebridge::testing

#endif  // SSEBRIDGE_TESTS_UTIL_TEST_UTIL_H_

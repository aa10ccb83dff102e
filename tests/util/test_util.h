// Small helpers shared by the integration, reliability, soak and service
// tests and benchmark tools: bounded waiting, a free loopback port, reading
// the port from the frontend binary's "listening on http://HOST:PORT/" line,
// and a process's resident memory. Thread-safe.
#ifndef SSEBRIDGE_TESTS_UTIL_TEST_UTIL_H_
#define SSEBRIDGE_TESTS_UTIL_TEST_UTIL_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ssebridge::testing {

// Polls `pred` every 5 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& pred, absl::Duration timeout);

// Reads `count` every `period` until two reads in a row agree on a value
// above `above` (e.g. a service's events written: it has been pushed back),
// or `timeout` passes. The last value read goes to `*last` if given.
bool WaitUntilSteady(const std::function<int64_t()>& count, int64_t above,
                     absl::Duration period, absl::Duration timeout,
                     int64_t* last = nullptr);

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, close).
int FreeLoopbackPort();

// The port in "listening on http://127.0.0.1:PORT/", or 0.
int PortFromListeningLine(absl::string_view line);

// VmRSS of process `pid` (this process when pid <= 0) in KiB, from
// /proc/PID/status; -1 if it cannot be read.
int64_t VmRssKb(int pid);

}  // namespace ssebridge::testing

#endif  // SSEBRIDGE_TESTS_UTIL_TEST_UTIL_H_

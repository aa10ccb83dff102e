// File-descriptor budget: how many streams this process can hold before
// accept() or dup() would fail with EMFILE. Each stream costs two
// descriptors (Pistache's socket and the frontend's dup of it), and the
// process needs some to spare for new connections, gRPC reconnects and
// static files. Admission control caps streams at this figure so that an
// overloaded frontend answers 503 instead of running out of descriptors.
// Functions only; no shared state.
#ifndef SSEBRIDGE_FRONTEND_FD_BUDGET_H_
#define SSEBRIDGE_FRONTEND_FD_BUDGET_H_

#include <cstdint>

namespace ssebridge::frontend {

// Descriptors kept free for everything that is not a held stream.
inline constexpr uint64_t kFdReserve = 32;

// Raises the soft RLIMIT_NOFILE to the hard limit (as nginx's
// worker_rlimit_nofile and Go's runtime do) and returns the soft limit in
// force afterwards; 0 if it cannot be read (treated as unknown).
uint64_t RaiseFdLimit();

// Number of descriptors this process has open now (/proc/self/fd), or 0 if
// it cannot be counted.
uint64_t CountOpenFds();

// Streams that fit in `fd_limit` with `fds_in_use` already open and
// kFdReserve kept free; 0 when nothing fits. Returns UINT32_MAX when the
// limit is unknown (0), meaning "no cap from descriptors".
uint32_t StreamsForFdLimit(uint64_t fd_limit, uint64_t fds_in_use);

// The stream limit to enforce: the configured one (0 = unlimited) or the
// descriptor cap, whichever is smaller, and never 0 (unlimited) once a
// cap is known.
uint32_t EffectiveStreamLimit(uint32_t configured, uint32_t fd_cap);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_FD_BUDGET_H_

// File-descriptor budget: keeps an overloaded frontend answering 503 instead
// of running out of descriptors. A stream holds the frontend's dup of the
// connection (and, until listen.idle_timeout drops it, Pistache's own fd);
// new connections, gRPC reconnects, static files and the sanitizers' probes
// need descriptors too. Since the kernel hands out the lowest free number,
// a dup that lands in the top kFdReserve numbers means fewer than that many
// are left: the stream is refused and the reserve stays free.
// Functions only; no shared state.
#ifndef SSEBRIDGE_FRONTEND_OPS_FD_BUDGET_H_
#define SSEBRIDGE_FRONTEND_OPS_FD_BUDGET_H_

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

// True when a stream's descriptor `fd` lies in the reserve below
// `fd_limit`, i.e. the stream must be refused. Never true for an unknown
// (0) limit.
bool InFdReserve(int fd, uint64_t fd_limit);

// Most streams that can fit in `fd_limit` with `fds_in_use` open: one
// descriptor each (two until Pistache drops its copy), kFdReserve kept free.
// For the start-up warning only.
uint64_t StreamsForFdLimit(uint64_t fd_limit, uint64_t fds_in_use);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_OPS_FD_BUDGET_H_

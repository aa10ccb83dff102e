// Happens-before annotations for ThreadSanitizer around gRPC reactors.
//
// Debian's gRPC and Abseil are not built with TSan, so TSan cannot see the
// synchronisation between the thread that starts a reactor operation
// (StartRead / StartWrite / Finish ...) and the gRPC thread that later runs
// its On* callback. Releasing on the reactor's address before each Start*
// and acquiring at the top of each callback tells TSan about exactly that
// edge, and nothing more (DESIGN §10). Compiled to nothing outside TSan
// builds (SSEBRIDGE_TSAN).
#ifndef SSEBRIDGE_COMMON_TSAN_ANNOTATIONS_H_
#define SSEBRIDGE_COMMON_TSAN_ANNOTATIONS_H_

#ifdef SSEBRIDGE_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define SSEBRIDGE_TSAN_ACQUIRE(p) __tsan_acquire(static_cast<void*>(p))
#define SSEBRIDGE_TSAN_RELEASE(p) __tsan_release(static_cast<void*>(p))
#else
#define SSEBRIDGE_TSAN_ACQUIRE(p) static_cast<void>(0)
#define SSEBRIDGE_TSAN_RELEASE(p) static_cast<void>(0)
#endif

#endif  // SSEBRIDGE_COMMON_TSAN_ANNOTATIONS_H_

// The C++ service SDK in one include: write an action service as a few
// handlers that send events (see server.h for a complete example).
//
//   #include "common/sdk/sdk.h"
//   using namespace ssebridge::sdk;
//
// builders.h  Html, Escape, Json, Event: the payloads Stream::Send accepts
// stream.h    Request (what the browser asked) and Stream (where events go)
// server.h    ActionServer (register actions, Start / Serve) and
//             RunningServer
//
// Thread-safety: see each header; in short, Stream may be used from any
// thread, builders are plain values.
#ifndef SSEBRIDGE_COMMON_SDK_SDK_H_
#define SSEBRIDGE_COMMON_SDK_SDK_H_

#include "common/sdk/builders.h"  // IWYU pragma: export
#include "common/sdk/server.h"    // IWYU pragma: export
#include "common/sdk/stream.h"    // IWYU pragma: export

#endif  // SSEBRIDGE_COMMON_SDK_SDK_H_

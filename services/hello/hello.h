// The "Add a service" example (see services/README.md): one action, `hello`
// (param name, default "world"), that streams "Hello, <name>!" word by word
// as unnamed events (the browser sees them as "message"), each carrying the
// greeting so far as an HTML fragment with the name escaped.
//
// Thread-safety: RegisterHello is called before the server starts; the
// handler runs on its own thread per call and shares no state.
#ifndef SSEBRIDGE_SERVICES_HELLO_HELLO_H_
#define SSEBRIDGE_SERVICES_HELLO_HELLO_H_

#include "absl/time/time.h"
#include "common/sdk/sdk.h"

namespace ssebridge::services::hello {

// Adds the `hello` action; `word_delay` paces the words.
void RegisterHello(sdk::ActionServer& server,
                   absl::Duration word_delay = absl::Milliseconds(200));

}  // namespace ssebridge::services::hello

#endif  // SSEBRIDGE_SERVICES_HELLO_HELLO_H_

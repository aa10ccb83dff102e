// The resume cursor of a multiplexing connection and the renaming of its
// sub-streams' events (README "Multiplexing").
//
// Cursor: every event of a mux connection that moves a sub-stream forward
// carries, as its SSE id, a cursor holding the latest id of every sub-stream
// that has one, so one Last-Event-ID resumes each sub-stream where it was.
// Format: "m1." + base64url (no padding) of "ALIAS:ID" entries joined by
// "\n" (aliases are [A-Za-z0-9_-], ids never hold CR, LF or NUL). It is
// URL-safe, so it also works as ?lastEventId=. A cursor that does not parse
// is treated as no id (the caller counts it).
//
// Renaming: an encoded SSE event of alias A named E goes out as "A.E" (an
// unnamed one as "A"), with the cursor as its id when it carried an id.
//
// Thread-safety: pure functions.
#ifndef SSEBRIDGE_FRONTEND_RELAY_MUX_CURSOR_H_
#define SSEBRIDGE_FRONTEND_RELAY_MUX_CURSOR_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace ssebridge::frontend {

// Sub-stream alias -> its latest event id, in the connection's alias order.
using MuxPositions = std::vector<std::pair<std::string, std::string>>;

std::string EncodeMuxCursor(const MuxPositions& positions);
// nullopt if `cursor` is not a cursor this version wrote.
std::optional<MuxPositions> DecodeMuxCursor(absl::string_view cursor);

// Appends `encoded` (one event as the SSE encoder wrote it: optional
// "event: " and "id: " lines, then retry/data/comment lines, ending with a
// blank line) renamed for `alias`, with "id: <cursor>" instead of its id
// line when `cursor` is set. Returns the event's own id ("" if none) in
// `id`. Bytes with no blank line (comments only) are appended unchanged.
void AppendMuxEvent(absl::string_view encoded, absl::string_view alias,
                    const std::string* cursor, std::string& out);
// The id line's value of `encoded`, "" if it has none.
std::string EncodedEventId(absl::string_view encoded);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_MUX_CURSOR_H_

// The chat_bot action service: the chat_form / chat_send / chat_post /
// chat_stream actions on top of a RoomBus, plus the HTML they render.
//
//   chat_form   (message, room="lobby", user="guest") one html event: the
//               user's bubble and a bot bubble whose sse-connect opens
//               chat_send; then OK. Served to htmx's hx-post as text/html.
//   chat_send   (message, room="lobby", user="guest") event "update"
//               "Bot is thinking...", a pause, then the reply word by word
//               (each "update" is the reply so far); then OK. Posts the
//               user's message (if any) and the reply to the room.
//   chat_post   (message, room="lobby", user="guest") posts to the room, one
//               html event "sent"; then OK. UNAVAILABLE when the bus
//               cannot publish (Redis down).
//   chat_stream (room="lobby") every message posted to the room as event
//               "chat" (an HTML fragment); never ends by itself, unless the
//               bus ends the subscription (Redis went away): then the call
//               ends with the bus's error, UNAVAILABLE. Async: no thread per
//               subscriber.
//
// Who wrote a message (AuthorName): on an authenticated route the verified
// name the frontend passes (claim "name", else the subject); the `user`
// param is then ignored. An anonymous request keeps the name typed into
// `user` but is shown marked as a guest, "guest:NAME", so nobody can post
// as a signed-in user by typing their name.
//
// Thread-safety: ChatService is immutable after construction; its handlers
// run concurrently on gRPC and per-call threads. The bus must be
// thread-safe and outlive every server the service is registered with.
#ifndef SSEBRIDGE_SERVICES_CHAT_BOT_CHAT_SERVICE_H_
#define SSEBRIDGE_SERVICES_CHAT_BOT_CHAT_SERVICE_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/sdk/sdk.h"
#include "services/chat_bot/room_bus.h"

namespace ssebridge::services::chat {

struct ChatOptions {
  // Pause after "Bot is thinking..." and between the reply's words.
  absl::Duration think_delay = absl::Milliseconds(300);
  absl::Duration word_delay = absl::Milliseconds(80);
  // The user name the bot posts to rooms as.
  std::string bot_name = "bot";
  // Answers "what time is it"; tests pin it.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// Limits on parameters (longer values are rejected with INVALID_ARGUMENT).
inline constexpr size_t kMaxMessageBytes = 2000;
inline constexpr size_t kMaxNameBytes = 64;  // room and user names

class ChatService {
 public:
  ChatService(RoomBus* bus, ChatOptions options = {});

  // Registers the four actions on `server`.
  void Register(sdk::ActionServer& server) const;

 private:
  void ChatForm(sdk::Request request, sdk::Stream stream) const;
  void ChatSend(sdk::Request request, sdk::Stream stream) const;
  void ChatPost(sdk::Request request, sdk::Stream stream) const;
  void ChatStream(sdk::Request request, sdk::Stream stream) const;

  RoomBus* const bus_;
  const ChatOptions options_;
};

// --- Rendering and helpers (pure; exposed for tests). ---

// Percent-encodes everything but A-Z a-z 0-9 - _ . ~ (RFC 3986 unreserved).
std::string UrlEncode(absl::string_view value);

// The chat_send URL the bot bubble connects to (not HTML-escaped).
std::string ChatSendUrl(absl::string_view room, absl::string_view user,
                        absl::string_view message);

// chat_form's fragment: the user's bubble (when `message` is not empty),
// shown as from `author`, and the bot bubble that streams chat_send into
// itself, with `user` (the name as typed, unmarked) in its URL.
sdk::Html ChatFormHtml(absl::string_view room, absl::string_view author,
                       absl::string_view user, absl::string_view message);
// The same with author = user.
sdk::Html ChatFormHtml(absl::string_view room, absl::string_view user,
                       absl::string_view message);

// A bubble's inner HTML: the sender and the text, both escaped.
sdk::Html BubbleInner(absl::string_view user, absl::string_view text);

// A room message as chat_stream sends it.
sdk::Html RoomMessageHtml(const ChatMessage& message);

// The name a message from `request` is shown under (not escaped: rendering
// escapes it). Authenticated: Claim("name") if not empty, else Subject(),
// cut to kMaxNameBytes at a UTF-8 character boundary; `typed_user` is
// ignored. Anonymous: kGuestMark + `typed_user`, or "guest" alone when
// `typed_user` is empty or "guest". The mark comes first, so nothing the
// guest types (e.g. bidi controls) can hide it or blend into it.
std::string AuthorName(const sdk::Request& request,
                       absl::string_view typed_user);
inline constexpr absl::string_view kGuestMark = "guest:";

// Checks message / room / user against the limits above.
absl::Status ValidateChatParams(absl::string_view message,
                                absl::string_view room, absl::string_view user);

}  // namespace ssebridge::services::chat

#endif  // SSEBRIDGE_SERVICES_CHAT_BOT_CHAT_SERVICE_H_

// The chat_bot's brain: a small deterministic, rule-based bot (no model).
// Given a message it picks one reply by fixed rules, in this order:
//   help        "help", "?", "commands"        -> what the bot understands
//   time        a question about the time      -> "It is 14:05:09 UTC."
//   greeting    hi / hello / hey / good morning -> a greeting
//   thanks      thanks / thank you             -> "You're welcome!"
//   keywords    up to three notable words       -> echoes them back
//   fallback    anything else (or nothing)      -> a nudge
// The same message and clock value always give the same reply.
//
// Thread-safety: pure functions, callable from any thread.
#ifndef SSEBRIDGE_SERVICES_CHAT_BOT_BOT_H_
#define SSEBRIDGE_SERVICES_CHAT_BOT_BOT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ssebridge::services::chat {

// The bot's reply to `message`; `now` answers time questions (in UTC).
std::string BotReply(absl::string_view message, absl::Time now);

// The lower-case ASCII words of `text` (runs of letters and digits; bytes
// >= 0x80 count as letters so UTF-8 words stay whole).
std::vector<std::string> Tokenize(absl::string_view text);

// The notable words of `text`: tokens of four or more characters that are not
// common filler words, de-duplicated, in order, at most `max`.
std::vector<std::string> Keywords(absl::string_view text, size_t max = 3);

// Splits a reply on spaces into the words it is streamed in.
std::vector<std::string> SplitWords(absl::string_view text);

}  // namespace ssebridge::services::chat

#endif  // SSEBRIDGE_SERVICES_CHAT_BOT_BOT_H_

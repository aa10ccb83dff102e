#include "services/chat_bot/chat_service.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/chat_bot/bot.h"

namespace ssebridge::services::chat {
namespace {

using sdk::Escape;
using sdk::Event;
using sdk::Html;

// A parameter, or `fallback` when it is absent or empty.
std::string ParamOr(const sdk::Request& request, absl::string_view name,
                    absl::string_view fallback) {
  std::string value = request.Param(name);
  return value.empty() ? std::string(fallback) : value;
}

struct ChatParams {
  std::string message;
  std::string room;
  std::string user;    // the `user` param as typed (unmarked)
  std::string author;  // who the message is shown from: AuthorName
  // Checks the params against the limits; the typed user only counts when
  // it is the author's name (anonymous).
  absl::Status Validate(const sdk::Request& request) const {
    return ValidateChatParams(message, room,
                              request.Authenticated() ? "" : user);
  }
};

ChatParams ReadParams(const sdk::Request& request) {
  ChatParams p{request.Param("message"), ParamOr(request, "room", "lobby"),
               ParamOr(request, "user", "guest"), ""};
  p.author = AuthorName(request, p.user);
  return p;
}

// `text` cut to at most `max` bytes, not inside a UTF-8 character.
std::string TruncateUtf8(absl::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t end = max;
  // Back off continuation bytes (10xxxxxx) to the start of the character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return std::string(text.substr(0, end));
}

}  // namespace

std::string UrlEncode(absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string ChatSendUrl(absl::string_view room, absl::string_view user,
                        absl::string_view message) {
  return absl::StrCat("/api/chat_send?room=", UrlEncode(room),
                      "&user=", UrlEncode(user),
                      "&message=", UrlEncode(message));
}

Html BubbleInner(absl::string_view user, absl::string_view text) {
  return Html("<span class=\"who\">", Escape(user),
              "</span> <span class=\"text\">", Escape(text), "</span>");
}

Html ChatFormHtml(absl::string_view room, absl::string_view user,
                  absl::string_view message) {
  return ChatFormHtml(room, user, user, message);
}

Html ChatFormHtml(absl::string_view room, absl::string_view author,
                  absl::string_view user, absl::string_view message) {
  Html html;
  if (!message.empty()) {
    html.Append("<div class=\"msg user\">")
        .Append(BubbleInner(author, message))
        .Append("</div>");
  }
  html.Append("<div class=\"msg bot\" hx-ext=\"sse\" sse-connect=\"")
      .Append(Escape(ChatSendUrl(room, user, message)))
      .Append(
          "\" sse-swap=\"update\" sse-close=\"done\">"
          "<span class=\"typing\">&hellip;</span></div>");
  return html;
}

Html RoomMessageHtml(const ChatMessage& message) {
  return Html("<div class=\"msg ", message.from_bot ? "bot" : "user", "\">",
              BubbleInner(message.user, message.text), "</div>");
}

std::string AuthorName(const sdk::Request& request,
                       absl::string_view typed_user) {
  if (request.Authenticated()) {
    std::string name = request.Claim("name");
    return TruncateUtf8(name.empty() ? request.Subject() : name, kMaxNameBytes);
  }
  if (typed_user.empty() || typed_user == "guest") return "guest";
  return absl::StrCat(kGuestMark, typed_user);
}

absl::Status ValidateChatParams(absl::string_view message,
                                absl::string_view room,
                                absl::string_view user) {
  if (message.size() > kMaxMessageBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("message longer than ", kMaxMessageBytes, " bytes"));
  }
  if (room.size() > kMaxNameBytes || user.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("room and user are limited to ", kMaxNameBytes, " bytes"));
  }
  return absl::OkStatus();
}

ChatService::ChatService(RoomBus* bus, ChatOptions options)
    : bus_(bus), options_(std::move(options)) {}

void ChatService::Register(sdk::ActionServer& server) const {
  server
      .AsyncAction("chat_form",
                   [this](sdk::Request r, sdk::Stream s) {
                     ChatForm(std::move(r), std::move(s));
                   })
      .Action("chat_send",
              [this](sdk::Request r, sdk::Stream s) {
                ChatSend(std::move(r), std::move(s));
              })
      .AsyncAction("chat_post",
                   [this](sdk::Request r, sdk::Stream s) {
                     ChatPost(std::move(r), std::move(s));
                   })
      .AsyncAction("chat_stream", [this](sdk::Request r, sdk::Stream s) {
        ChatStream(std::move(r), std::move(s));
      });
}

void ChatService::ChatForm(sdk::Request request, sdk::Stream stream) const {
  const ChatParams p = ReadParams(request);
  if (absl::Status s = p.Validate(request); !s.ok()) {
    stream.Finish(s);
    return;
  }
  // The URL carries the name as typed: chat_send marks it again.
  stream.TrySend(ChatFormHtml(p.room, p.author, p.user, p.message));
  stream.Finish();
}

void ChatService::ChatSend(sdk::Request request, sdk::Stream stream) const {
  const ChatParams p = ReadParams(request);
  if (absl::Status s = p.Validate(request); !s.ok()) {
    stream.Finish(s);
    return;
  }
  sdk::CancellableSleep sleep(stream);
  const absl::Time now = options_.clock();
  // A bus that cannot publish (Redis down) costs the room these messages,
  // not the asker the reply: chat_send goes on either way.
  if (!p.message.empty()) {
    bus_->Publish({p.room, p.author, p.message, /*from_bot=*/false, now});
  }
  const std::string reply = BotReply(p.message, now);
  bool live = stream.Send(Event::Named("update").Text("Bot is thinking...")) &&
              sleep.Sleep(options_.think_delay);
  const std::vector<std::string> words = SplitWords(reply);
  std::string so_far;
  for (size_t i = 0; live && i < words.size(); ++i) {
    if (i > 0) {
      live = sleep.Sleep(options_.word_delay);
      if (!live) break;
      so_far.push_back(' ');
    }
    so_far += words[i];
    live = stream.Send(
        Event::Named("update").Html(BubbleInner(options_.bot_name, so_far)));
  }
  // The room sees the whole reply even if the asker left early.
  bus_->Publish(
      {p.room, options_.bot_name, reply, /*from_bot=*/true, options_.clock()});
}

void ChatService::ChatPost(sdk::Request request, sdk::Stream stream) const {
  const ChatParams p = ReadParams(request);
  absl::Status status = p.Validate(request);
  if (status.ok() && p.message.empty()) {
    status = absl::InvalidArgumentError("message is empty");
  }
  if (!status.ok()) {
    stream.Finish(status);
    return;
  }
  if (!bus_->Publish({p.room, p.author, p.message, /*from_bot=*/false,
                      options_.clock()})) {
    // The shared bus (Redis) is unreachable; the bus logged why.
    stream.Finish(absl::UnavailableError("chat rooms unavailable, try again"));
    return;
  }
  stream.TrySend(Event::Named("sent").Html("<span class=\"sent\">sent</span>"));
  stream.Finish();
}

void ChatService::ChatStream(sdk::Request request, sdk::Stream stream) const {
  const std::string room = ParamOr(request, "room", "lobby");
  if (room.size() > kMaxNameBytes) {
    stream.Finish(absl::InvalidArgumentError(
        absl::StrCat("room is limited to ", kMaxNameBytes, " bytes")));
    return;
  }
  // Never blocks: a subscriber too slow to take an event just misses it.
  // When the bus ends the subscription (Redis went away) the call ends with
  // its status (UNAVAILABLE): the frontend sends an error event and the
  // browser reconnects, subscribing afresh.
  const RoomBus::SubscriberId id = bus_->Subscribe(
      room,
      [stream](const ChatMessage& message) mutable {
        stream.TrySend(Event::Named("chat").Html(RoomMessageHtml(message)));
      },
      [stream](const absl::Status& status) mutable { stream.Finish(status); });
  // Runs at once if the client is already gone.
  stream.OnCancel([bus = bus_, room, id] { bus->Unsubscribe(room, id); });
}

}  // namespace ssebridge::services::chat

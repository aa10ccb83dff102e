#include "services/chat_bot/bot.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ssebridge::services::chat {
namespace {

bool IsWordByte(unsigned char c) { return absl::ascii_isalnum(c) || c >= 0x80; }

bool Has(const std::vector<std::string>& words, absl::string_view word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

bool HasAny(const std::vector<std::string>& words,
            std::initializer_list<absl::string_view> options) {
  for (absl::string_view option : options) {
    if (Has(words, option)) return true;
  }
  return false;
}

const absl::flat_hash_set<std::string>& StopWords() {
  static const auto* words = new absl::flat_hash_set<std::string>{
      "about", "after",  "again",  "also",  "been",   "before", "being",
      "could", "does",   "doing",  "from",  "have",   "having", "here",
      "into",  "just",   "like",   "more",  "much",   "only",   "other",
      "over",  "please", "really", "same",  "should", "some",   "such",
      "than",  "that",   "their",  "them",  "then",   "there",  "these",
      "they",  "this",   "those",  "very",  "want",   "were",   "what",
      "when",  "where",  "which",  "while", "will",   "with",   "would",
      "your",  "yours",  "know",   "think", "tell",   "thing",  "things"};
  return *words;
}

}  // namespace

std::vector<std::string> Tokenize(absl::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsWordByte(c)) {
      word.push_back(static_cast<char>(absl::ascii_tolower(c)));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

std::vector<std::string> Keywords(absl::string_view text, size_t max) {
  std::vector<std::string> keywords;
  for (std::string& word : Tokenize(text)) {
    if (keywords.size() >= max) break;
    if (word.size() < 4 || StopWords().contains(word) || Has(keywords, word)) {
      continue;
    }
    keywords.push_back(std::move(word));
  }
  return keywords;
}

std::vector<std::string> SplitWords(absl::string_view text) {
  return absl::StrSplit(text, ' ', absl::SkipEmpty());
}

std::string BotReply(absl::string_view message, absl::Time now) {
  const std::vector<std::string> words = Tokenize(message);
  if (HasAny(words, {"help", "commands"}) ||
      absl::StripAsciiWhitespace(message) == "?") {
    return "I understand greetings, thanks and questions about the time. "
           "Anything else, I repeat the words that caught my eye.";
  }
  if (Has(words, "time") || (Has(words, "what") && Has(words, "clock"))) {
    return absl::StrCat("It is ",
                        absl::FormatTime("%H:%M:%S", now, absl::UTCTimeZone()),
                        " UTC.");
  }
  if (words.empty()) {
    return "Say something and I will answer. Type help to see what I "
           "understand.";
  }
  const std::string& first = words.front();
  if (first == "hi" || first == "hello" || first == "hey" || first == "hallo" ||
      first == "hola" || first == "greetings" || first == "howdy" ||
      (first == "good" && words.size() > 1 &&
       (words[1] == "morning" || words[1] == "afternoon" ||
        words[1] == "evening"))) {
    return "Hello! I am the sse-bridge demo bot. Ask me what time it is, or "
           "type help.";
  }
  if (HasAny(words, {"thanks", "thank", "thx"})) {
    return "You're welcome!";
  }
  const std::vector<std::string> keywords = Keywords(message);
  if (!keywords.empty()) {
    std::string list;
    if (keywords.size() == 1) {
      list = keywords[0];
    } else {
      list = absl::StrCat(
          absl::StrJoin(keywords.begin(), keywords.end() - 1, ", "), " and ",
          keywords.back());
    }
    return absl::StrCat("You mentioned ", list, ". Tell me more!");
  }
  return "I see. I am only a simple bot: try hello, help or what time is it.";
}

}  // namespace ssebridge::services::chat

#include "services/hello/hello.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ssebridge::services::hello {

using ::ssebridge::sdk::ActionServer;
using ::ssebridge::sdk::Escape;
using ::ssebridge::sdk::Html;
using ::ssebridge::sdk::Request;
using ::ssebridge::sdk::Stream;

void RegisterHello(ActionServer& server, absl::Duration word_delay) {
  server.Action("hello", [word_delay](Request request, Stream stream) {
    std::string name = request.Param("name");
    if (name.empty()) name = "world";
    const std::string greeting = absl::StrCat("Hello, ", name, "!");
    const std::vector<std::string> words =
        absl::StrSplit(greeting, ' ', absl::SkipEmpty());
    std::string so_far;
    for (const std::string& word : words) {
      if (!so_far.empty()) {
        absl::SleepFor(word_delay);
        so_far += ' ';
      }
      so_far += word;
      // The name comes from the browser: Escape it inside Html.
      if (!stream.Send(Html("<p class=\"hello\">", Escape(so_far), "</p>"))) {
        return;  // the browser went away
      }
    }
  });  // returning ends the call with OK: the frontend sends "done"
}

}  // namespace ssebridge::services::hello

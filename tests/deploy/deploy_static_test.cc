// The docker/ files checked without a Docker engine: docker-compose (Debian's
// 1.29) validates the compose file, and every binary, flag, path, port and
// package that the compose file, the Dockerfiles, the edge template and the
// frontend config name is checked against the repo, the build and each
// other, so none of them can drift apart unnoticed:
//  - compose: build files exist, commands are binaries their image installs
//    with flags those binaries have, ports agree between the command, the
//    health check, `expose`, docker/frontend.yaml and the edge's upstream;
//    every depends_on waits for a health check that exists;
//  - Dockerfiles: COPY sources exist; the build targets are the binaries the
//    runtime stages copy (and exist in this build); the two C++ build stages
//    are the same text and install the Makefile's -dev packages; each runtime
//    stage installs exactly the Debian packages its binaries link (ldd +
//    dpkg -S);
//  - docker/frontend.yaml loads with the frontend's loader and has the demo
//    site's routes; the edge's read timeout exceeds every route's heartbeat;
//    the entrypoint renders every variable of the nginx template.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "frontend/config/config_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/deploy/deploy_util.h"

namespace ssebridge::testing::deploy {
namespace {

using ::testing::Contains;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

const std::vector<std::string> kServices = {
    "edge",       "frontend",      "chat_bot", "notifications",
    "monitoring", "python_quotes", "redis"};

std::string Compose() { return SourcePath("docker/docker-compose.yml"); }

bool Exists(const std::string& path) {
  return ReadFile(path).has_value() ||
         RunCommand({"/usr/bin/test", "-e", path}, absl::Seconds(5))
                 .exit_code == 0;
}

// The built binary for a Dockerfile path "build/<rel>".
std::string BuildPath(absl::string_view docker_path) {
  return absl::StrCat(SSEBRIDGE_BINARY_DIR, "/",
                      absl::StripPrefix(docker_path, "build/"));
}

std::string Basename(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path
                                                      : path.substr(slash + 1));
}

std::vector<std::string> Words(absl::string_view text) {
  return absl::StrSplit(text, ' ', absl::SkipEmpty());
}

// The port after the last ':' of "host:port" (or "--listen=host:port").
int PortOf(absl::string_view text) {
  int port = 0;
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port)) {
    return -1;
  }
  return port;
}

// The value of `--name=value` in `args`, "" if absent.
std::string FlagValue(const std::vector<std::string>& args,
                      absl::string_view name) {
  const std::string prefix = absl::StrCat("--", name, "=");
  for (const std::string& a : args) {
    if (absl::StartsWith(a, prefix)) return a.substr(prefix.size());
  }
  return "";
}

// The stages of a Dockerfile: each is its instructions, FROM first.
std::vector<std::vector<std::string>> Stages(const std::string& dockerfile) {
  std::vector<std::vector<std::string>> stages;
  for (const std::string& i : DockerInstructions(dockerfile)) {
    if (absl::StartsWith(i, "FROM ")) stages.emplace_back();
    if (!stages.empty()) stages.back().push_back(i);
  }
  return stages;
}

// Packages named by `apt-get install ... --no-install-recommends a b c &&`.
std::vector<std::string> AptPackages(const std::vector<std::string>& stage) {
  for (const std::string& i : stage) {
    const size_t at = i.find("--no-install-recommends ");
    if (!absl::StartsWith(i, "RUN ") || at == std::string::npos) continue;
    std::string rest = i.substr(at + 24);
    rest = rest.substr(0, rest.find("&&"));
    return Words(rest);
  }
  return {};
}

// Words after `--target` in the build stage's RUN, up to the next "&&".
std::vector<std::string> BuildTargets(const std::vector<std::string>& stage) {
  for (const std::string& i : stage) {
    const size_t at = i.find("--target ");
    if (at == std::string::npos) continue;
    std::string rest = i.substr(at + 9);
    return Words(rest.substr(0, rest.find("&&")));
  }
  return {};
}

// The build-tree paths the build stage copies to /out.
std::vector<std::string> BuildOutputs(const std::vector<std::string>& stage) {
  std::vector<std::string> out;
  for (const std::string& i : stage) {
    for (const std::string& w : Words(i)) {
      if (absl::StartsWith(w, "build/")) out.push_back(w);
    }
  }
  return out;
}

// COPY instructions as {sources..., destination}; `from` gets the --from
// stage ("" for the build context).
struct Copy {
  std::string from;
  std::vector<std::string> sources;
  std::string destination;
};
std::vector<Copy> Copies(const std::vector<std::string>& stage) {
  std::vector<Copy> copies;
  for (const std::string& i : stage) {
    if (!absl::StartsWith(i, "COPY ")) continue;
    std::vector<std::string> words = Words(i.substr(5));
    Copy c;
    while (!words.empty() && absl::StartsWith(words.front(), "--")) {
      if (absl::StartsWith(words.front(), "--from=")) {
        c.from = words.front().substr(7);
      }
      words.erase(words.begin());
    }
    if (words.size() < 2) continue;
    c.destination = words.back();
    words.pop_back();
    c.sources = words;
    copies.push_back(c);
  }
  return copies;
}

// Where COPY put `source_suffix` (the destination, joined with the source's
// name when the destination is a directory).
std::string CopiedTo(const std::vector<Copy>& copies,
                     absl::string_view source_suffix) {
  for (const Copy& c : copies) {
    for (const std::string& s : c.sources) {
      if (!absl::EndsWith(s, source_suffix)) continue;
      if (absl::EndsWith(c.destination, "/")) {
        return absl::StrCat(c.destination, Basename(s));
      }
      return c.destination;
    }
  }
  return "";
}

// "EXPOSE 8080 8443" -> {8080, 8443}.
std::set<int> Exposed(const std::vector<std::string>& stage) {
  std::set<int> ports;
  for (const std::string& i : stage) {
    if (!absl::StartsWith(i, "EXPOSE ")) continue;
    for (const std::string& w : Words(i.substr(7))) {
      int p = 0;
      if (absl::SimpleAtoi(w, &p)) ports.insert(p);
    }
  }
  return ports;
}

// DEB_PACKAGES from the Makefile.
std::set<std::string> MakefilePackages() {
  std::set<std::string> packages;
  const std::optional<std::string> text = ReadFile(SourcePath("Makefile"));
  if (!text) return packages;
  bool in_list = false;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (absl::StartsWith(line, "DEB_PACKAGES :=")) {
      in_list = true;
      line.remove_prefix(15);
    } else if (!in_list) {
      continue;
    }
    const bool more =
        absl::EndsWith(absl::StripTrailingAsciiWhitespace(line), "\\");
    for (const std::string& w : Words(line)) {
      if (w != "\\") packages.insert(w);
    }
    if (!more) break;
  }
  return packages;
}

// The Debian packages providing the shared libraries `binary` loads, except
// those every Debian image has and sanitizer runtimes (ASan builds).
std::set<std::string> LinkedPackages(const std::string& binary,
                                     std::string* problems) {
  std::set<std::string> packages;
  const std::string ldd = FindProgram("ldd");
  const CommandResult r = RunCommand({ldd, binary}, absl::Seconds(20));
  if (r.exit_code != 0) {
    absl::StrAppend(problems, "ldd ", binary, " failed: ", r.output, "\n");
    return packages;
  }
  // "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)"
  std::vector<std::string> paths;
  for (absl::string_view line : absl::StrSplit(r.output, '\n')) {
    const size_t arrow = line.find("=> ");
    if (arrow == absl::string_view::npos) continue;
    std::string path(line.substr(arrow + 3));
    path = path.substr(0, path.find(' '));
    if (path.empty() || path[0] != '/') {
      absl::StrAppend(problems, binary, ": unresolved ", line, "\n");
      continue;
    }
    paths.push_back(path);
  }
  // Debian's merged /usr: dpkg may know a library under /lib or /usr/lib,
  // by its link name or its real name. Ask for all of them at once.
  std::vector<std::string> readlink = {FindProgram("readlink"), "-f"};
  readlink.insert(readlink.end(), paths.begin(), paths.end());
  const std::vector<std::string> real = absl::StrSplit(
      RunCommand(readlink, absl::Seconds(10)).output, '\n', absl::SkipEmpty());
  std::vector<std::pair<std::string, std::vector<std::string>>> libs;
  std::vector<std::string> query = {FindProgram("dpkg"), "-S"};
  for (size_t i = 0; i < paths.size(); ++i) {
    std::vector<std::string> variants;
    for (const std::string& p :
         {paths[i], i < real.size() ? real[i] : paths[i]}) {
      variants.push_back(p);
      if (absl::StartsWith(p, "/usr/lib/")) variants.push_back(p.substr(4));
      if (absl::StartsWith(p, "/lib/")) variants.push_back("/usr" + p);
    }
    query.insert(query.end(), variants.begin(), variants.end());
    libs.emplace_back(paths[i], variants);
  }
  const CommandResult owners = RunCommand(query, absl::Seconds(30));
  std::map<std::string, std::string> owner;  // path -> package
  for (absl::string_view line : absl::StrSplit(owners.output, '\n')) {
    const size_t sep = line.find(": ");
    if (sep == absl::string_view::npos ||
        absl::StartsWith(line, "dpkg-query")) {
      continue;
    }
    std::string package(line.substr(0, sep));
    package = package.substr(0, package.find(':'));  // drop ":amd64"
    owner[std::string(line.substr(sep + 2))] = package;
  }
  static const std::set<std::string> kInEveryImage = {"libc6", "libgcc-s1",
                                                      "libstdc++6", "zlib1g"};
  static const std::regex kSanitizer("^lib(a|ub|t|l|hwa)san[0-9]*$");
  for (const auto& [path, variants] : libs) {
    std::string package;
    for (const auto& v : variants) {
      if (auto it = owner.find(v); it != owner.end()) package = it->second;
    }
    if (package.empty()) {
      absl::StrAppend(problems, binary, ": no package owns ", path, "\n");
      continue;
    }
    if (kInEveryImage.contains(package) ||
        std::regex_match(package, kSanitizer)) {
      continue;
    }
    packages.insert(package);
  }
  return packages;
}

// --------------------------------------------------------------- compose

TEST(ComposeTest, DockerComposeValidatesTheFile) {
  const std::string docker_compose = FindProgram("docker-compose");
  if (docker_compose.empty()) {
    GTEST_SKIP() << "docker-compose not installed; `make deps` installs it "
                    "(Makefile DEB_PACKAGES: docker-compose)";
  }
  CommandResult r = RunCommand({docker_compose, "-f", Compose(), "config"},
                               absl::Seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand({docker_compose, "-f", Compose(), "config", "--services"},
                 absl::Seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(std::vector<std::string>(
                  absl::StrSplit(r.output, '\n', absl::SkipEmpty())),
              UnorderedElementsAreArray(kServices));
  // Environment overrides reach the stack.
  r = RunCommand({docker_compose, "-f", Compose(), "config"}, absl::Seconds(60),
                 {"EDGE_HTTPS_PORT=9443", "LOG_LEVEL=debug"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Published on the loopback address by default (EDGE_BIND): docker-compose
  // prints that as "127.0.0.1:9443:8443/tcp", without an address as
  // "published: 9443".
  EXPECT_THAT(r.output, HasSubstr("127.0.0.1:9443:8443"));
  EXPECT_THAT(r.output, HasSubstr("--log_level=debug"));
  EXPECT_THAT(r.output, HasSubstr("EDGE_PUBLIC_HTTPS_PORT: '9443'"));
}

class ComposeFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    compose_ = YAML::LoadFile(Compose());
    auto config = frontend::LoadConfigFile(SourcePath("docker/frontend.yaml"));
    ASSERT_TRUE(config.ok()) << config.status();
    frontend_ = *config;
  }
  std::vector<std::string> Command(const std::string& service) {
    std::vector<std::string> out;
    for (const auto& w : compose_["services"][service]["command"]) {
      out.push_back(w.as<std::string>());
    }
    return out;
  }
  std::string Env(const std::string& service, const std::string& name) {
    const YAML::Node env = compose_["services"][service]["environment"];
    return env && env[name] ? env[name].as<std::string>() : "";
  }
  std::set<int> Expose(const std::string& service) {
    std::set<int> out;
    for (const auto& p : compose_["services"][service]["expose"]) {
      out.insert(p.as<int>());
    }
    return out;
  }
  std::string Dockerfile(const std::string& service) {
    const YAML::Node build = compose_["services"][service]["build"];
    if (!build) return "";
    return SourcePath(build["dockerfile"].as<std::string>());
  }
  // The frontend.yaml backend target for `name`, "" if none.
  std::string Target(const std::string& name) {
    for (const auto& b : frontend_.backends()) {
      if (b.name() == name) return b.target();
    }
    return "";
  }
  // Flags of a built binary, from its --helpfull.
  static std::string Help(const std::string& binary) {
    return RunCommand({binary, "--helpfull"}, absl::Seconds(20)).output;
  }

  YAML::Node compose_;
  ssebridge::config::v1::FrontendConfig frontend_;
};

TEST_F(ComposeFilesTest, BuildsAndMountsNameFilesThatExist) {
  std::vector<std::string> names;
  for (const auto& s : compose_["services"]) {
    names.push_back(s.first.as<std::string>());
  }
  EXPECT_THAT(names, UnorderedElementsAreArray(kServices));
  for (const auto& s : compose_["services"]) {
    const std::string name = s.first.as<std::string>();
    const YAML::Node build = s.second["build"];
    if (name == "redis") {
      EXPECT_FALSE(build);
      continue;
    }
    ASSERT_TRUE(build) << name;
    EXPECT_EQ(build["context"].as<std::string>(), "..") << name;
    const std::string dockerfile = build["dockerfile"].as<std::string>();
    EXPECT_TRUE(Exists(SourcePath(dockerfile))) << name << ": " << dockerfile;
    // BuildKit's per-Dockerfile ignore file keeps build trees out of the
    // context (the repo root).
    const std::optional<std::string> ignore =
        ReadFile(SourcePath(dockerfile + ".dockerignore"));
    ASSERT_TRUE(ignore.has_value()) << dockerfile << ".dockerignore";
    EXPECT_THAT(*ignore, HasSubstr("build"));
    EXPECT_THAT(*ignore, HasSubstr("node_modules"));
    for (const auto& v : s.second["volumes"]) {
      const std::string spec = v.as<std::string>();
      if (absl::StartsWith(spec, "./")) {
        const std::string host = spec.substr(2, spec.find(':') - 2);
        EXPECT_TRUE(Exists(SourcePath("docker/" + host))) << spec;
      }
    }
    // Only the edge is reachable from outside.
    EXPECT_EQ(static_cast<bool>(s.second["ports"]), name == "edge") << name;
  }
}

TEST_F(ComposeFilesTest, ServiceCommandsPortsAndBackendsAgree) {
  const std::string service_dockerfile =
      SourcePath("docker/Dockerfile.service");
  const auto stages = Stages(service_dockerfile);
  ASSERT_EQ(stages.size(), 2u);
  std::set<std::string> installed;  // names in /usr/local/bin
  for (const Copy& c : Copies(stages[1])) {
    if (c.destination != "/usr/local/bin/") continue;
    for (const auto& s : c.sources) installed.insert(Basename(s));
  }
  const std::map<std::string, std::string> built = {
      {"chat_bot", SSEBRIDGE_CHAT_BOT_BIN},
      {"notifications", SSEBRIDGE_NOTIFICATIONS_BIN},
      {"monitoring", SSEBRIDGE_MONITORING_BIN}};
  const std::string healthcheck = DockerHealthcheck(service_dockerfile);
  EXPECT_THAT(healthcheck, HasSubstr("127.0.0.1:${SERVICE_PORT}"));
  for (const auto& [service, binary] : built) {
    SCOPED_TRACE(service);
    EXPECT_EQ(Dockerfile(service), service_dockerfile);
    const std::vector<std::string> command = Command(service);
    ASSERT_FALSE(command.empty());
    EXPECT_EQ(command[0], service);
    EXPECT_THAT(installed, Contains(command[0]));
    ASSERT_TRUE(Exists(binary)) << binary;
    const std::string help = Help(binary);
    for (size_t i = 1; i < command.size(); ++i) {
      const std::string flag = command[i].substr(0, command[i].find('='));
      EXPECT_THAT(help, HasSubstr(absl::StrCat("    ", flag, " ")))
          << binary << " has no flag " << flag;
    }
    const std::string listen = FlagValue(command, "listen");
    ASSERT_TRUE(absl::StartsWith(listen, "0.0.0.0:")) << listen;
    const int port = PortOf(listen);
    EXPECT_EQ(Env(service, "SERVICE_PORT"), absl::StrCat(port));
    EXPECT_EQ(Expose(service), std::set<int>{port});
    EXPECT_EQ(Target(service), absl::StrCat("dns:///", service, ":", port));
  }
  // The health probe the HEALTHCHECK runs is installed and built.
  EXPECT_THAT(installed, Contains("grpc_health_probe"));
  EXPECT_TRUE(Exists(SSEBRIDGE_HEALTH_PROBE_BIN));

  // chat_bot: two replicas sharing rooms through the compose redis.
  EXPECT_EQ(compose_["services"]["chat_bot"]["deploy"]["replicas"].as<int>(),
            2);
  const std::vector<std::string> chat = Command("chat_bot");
  EXPECT_EQ(FlagValue(chat, "room_bus"), "redis");
  const std::string redis = FlagValue(chat, "redis");
  EXPECT_TRUE(absl::StartsWith(redis, "redis:")) << redis;
  EXPECT_EQ(Expose("redis"), std::set<int>{PortOf(redis)});

  // python_quotes: its image's CMD and HEALTHCHECK use the exposed port.
  const std::string py_dockerfile =
      SourcePath("docker/Dockerfile.python_quotes");
  EXPECT_EQ(Dockerfile("python_quotes"), py_dockerfile);
  ASSERT_EQ(Expose("python_quotes").size(), 1u);
  const int py_port = *Expose("python_quotes").begin();
  EXPECT_EQ(Target("python_quotes"),
            absl::StrCat("dns:///python_quotes:", py_port));
  EXPECT_THAT(DockerHealthcheck(py_dockerfile),
              HasSubstr(absl::StrCat("127.0.0.1:", py_port)));
  const auto py_stages = Stages(py_dockerfile);
  ASSERT_EQ(py_stages.size(), 1u);
  EXPECT_EQ(Exposed(py_stages[0]), std::set<int>{py_port});
  bool cmd_found = false;
  for (const std::string& i : py_stages[0]) {
    if (!absl::StartsWith(i, "CMD ")) continue;
    cmd_found = true;
    EXPECT_THAT(i, HasSubstr(absl::StrCat("0.0.0.0:", py_port)));
    EXPECT_THAT(i,
                HasSubstr(CopiedTo(Copies(py_stages[0]), "quotes_server.py")));
  }
  EXPECT_TRUE(cmd_found);

  // Every backend of the frontend is a compose service.
  for (const auto& b : frontend_.backends()) {
    EXPECT_THAT(kServices, Contains(b.name()));
  }
}

TEST_F(ComposeFilesTest, FrontendAndEdgeAgreeOnPathsAndPorts) {
  const std::string dockerfile = SourcePath("docker/Dockerfile.frontend");
  EXPECT_EQ(Dockerfile("frontend"), dockerfile);
  const auto stages = Stages(dockerfile);
  ASSERT_EQ(stages.size(), 3u);  // build, web, runtime
  const std::vector<Copy> copies = Copies(stages[2]);

  // --config names the mounted file, which the image also carries.
  const std::vector<std::string> command = Command("frontend");
  const std::string config = FlagValue(command, "config");
  EXPECT_EQ(CopiedTo(copies, "docker/frontend.yaml"), config);
  bool mounted = false;
  for (const auto& v : compose_["services"]["frontend"]["volumes"]) {
    const std::vector<std::string> parts =
        absl::StrSplit(v.as<std::string>(), ':');
    if (parts.size() >= 2 && parts[0] == "./frontend.yaml") {
      mounted = true;
      EXPECT_EQ(parts[1], config);
    }
  }
  EXPECT_TRUE(mounted);
  const std::string help = Help(SSEBRIDGE_FRONTEND_BIN);
  for (const std::string& arg : command) {
    const std::string flag = arg.substr(0, arg.find('='));
    EXPECT_THAT(help, HasSubstr(absl::StrCat("    ", flag, " "))) << flag;
  }
  // The site the config serves is the one the image builds.
  EXPECT_EQ(CopiedTo(copies, "/out/web"), frontend_.static_root());

  // One port: listen, expose, EXPOSE, HEALTHCHECK, the edge's upstream.
  const int port = static_cast<int>(frontend_.listen().port());
  EXPECT_EQ(frontend_.listen().address(), "0.0.0.0");
  EXPECT_EQ(Expose("frontend"), std::set<int>{port});
  EXPECT_EQ(Exposed(stages[2]), std::set<int>{port});
  EXPECT_THAT(DockerHealthcheck(dockerfile),
              HasSubstr(absl::StrCat("127.0.0.1:", port, "/healthz")));
  EXPECT_EQ(Env("edge", "FRONTEND_UPSTREAM"), absl::StrCat("frontend:", port));

  // Edge: published container ports are the ones nginx listens on, and the
  // entrypoint, template and certificate volume are where the image has them.
  const std::string edge_dockerfile = SourcePath("docker/Dockerfile.edge");
  EXPECT_EQ(Dockerfile("edge"), edge_dockerfile);
  const auto edge_stages = Stages(edge_dockerfile);
  ASSERT_EQ(edge_stages.size(), 1u);
  std::set<int> published;
  for (const auto& p : compose_["services"]["edge"]["ports"]) {
    published.insert(PortOf(p.as<std::string>()));
  }
  const int http = std::stoi(Env("edge", "EDGE_HTTP_PORT"));
  const int https = std::stoi(Env("edge", "EDGE_HTTPS_PORT"));
  EXPECT_EQ(published, (std::set<int>{http, https}));
  EXPECT_EQ(Exposed(edge_stages[0]), (std::set<int>{http, https}));
  EXPECT_THAT(DockerHealthcheck(edge_dockerfile),
              HasSubstr(absl::StrCat("https://127.0.0.1:", https, "/healthz")));
  const std::vector<Copy> edge_copies = Copies(edge_stages[0]);
  const std::string entrypoint =
      CopiedTo(edge_copies, "docker/edge-entrypoint.sh");
  const std::string template_path =
      CopiedTo(edge_copies, "docker/nginx.conf.template");
  bool entry_found = false;
  for (const std::string& i : edge_stages[0]) {
    if (!absl::StartsWith(i, "ENTRYPOINT ")) continue;
    entry_found = true;
    EXPECT_THAT(i, HasSubstr(absl::StrCat("\"", entrypoint, "\"")));
  }
  EXPECT_TRUE(entry_found);
  const std::string script =
      ReadFile(SourcePath("docker/edge-entrypoint.sh")).value_or("");
  EXPECT_THAT(script,
              HasSubstr(absl::StrCat("NGINX_TEMPLATE:=", template_path)));
  EXPECT_THAT(script, HasSubstr(absl::StrCat("EDGE_HTTP_PORT:=", http)));
  EXPECT_THAT(script, HasSubstr(absl::StrCat("EDGE_HTTPS_PORT:=", https)));
  bool certs = false;
  for (const auto& v : compose_["services"]["edge"]["volumes"]) {
    const std::vector<std::string> parts =
        absl::StrSplit(v.as<std::string>(), ':');
    if (parts.size() >= 2 && parts[1] == "/certs") certs = true;
  }
  EXPECT_TRUE(certs);
  EXPECT_THAT(script, HasSubstr("TLS_CERT:=/certs/"));
  EXPECT_THAT(script, HasSubstr("TLS_KEY:=/certs/"));
}

TEST_F(ComposeFilesTest, EveryDependencyWaitsForAHealthCheckThatExists) {
  int edges = 0;
  for (const auto& s : compose_["services"]) {
    for (const auto& dep : s.second["depends_on"]) {
      ++edges;
      const std::string name = dep.first.as<std::string>();
      EXPECT_EQ(dep.second["condition"].as<std::string>(), "service_healthy")
          << s.first << " -> " << name;
      const bool compose_check =
          static_cast<bool>(compose_["services"][name]["healthcheck"]);
      const std::string dockerfile = Dockerfile(name);
      const bool image_check =
          !dockerfile.empty() && !DockerHealthcheck(dockerfile).empty();
      EXPECT_TRUE(compose_check || image_check) << name << " has no check";
    }
  }
  EXPECT_GE(edges, 6);  // edge<-frontend<-4 services, chat_bot<-redis
  for (const std::string& service : kServices) {
    if (service == "redis") continue;
    EXPECT_THAT(DockerHealthcheck(Dockerfile(service)), Not(IsEmpty()))
        << service;
  }
}

TEST_F(ComposeFilesTest, FrontendYamlServesTheDemoSiteRoutes) {
  auto demo = frontend::LoadConfigFile(SourcePath("services/demo/demo.yaml"));
  ASSERT_TRUE(demo.ok()) << demo.status();
  auto describe = [](const ssebridge::config::v1::FrontendConfig& c) {
    std::vector<std::string> out;
    for (const auto& r : c.routes()) {
      out.push_back(absl::StrCat(r.path(), " ", r.backend(), " ", r.action(),
                                 " ", absl::StrJoin(r.methods(), ","), " ",
                                 r.DebugString()));
    }
    return out;
  };
  EXPECT_THAT(describe(frontend_), ElementsAreArray(describe(*demo)));
}

// ------------------------------------------------------------- Dockerfiles

TEST(DockerfileTest, CopiesOnlyFilesThatExist) {
  for (const char* name : {"Dockerfile.frontend", "Dockerfile.service",
                           "Dockerfile.python_quotes", "Dockerfile.edge"}) {
    const std::string dockerfile = SourcePath(absl::StrCat("docker/", name));
    const auto stages = Stages(dockerfile);
    ASSERT_FALSE(stages.empty()) << name;
    for (const auto& stage : stages) {
      EXPECT_TRUE(absl::StartsWith(stage[0], "FROM debian:bookworm"))
          << name << ": " << stage[0];
      for (const Copy& c : Copies(stage)) {
        if (!c.from.empty()) continue;
        for (const auto& s : c.sources) {
          EXPECT_TRUE(Exists(SourcePath(s))) << name << ": COPY " << s;
        }
      }
    }
    // The image that runs: slim, and not as root.
    const auto& runtime = stages.back();
    EXPECT_EQ(runtime[0], "FROM debian:bookworm-slim") << name;
    bool non_root = false;
    for (const std::string& i : runtime) {
      if (absl::StartsWith(i, "USER ") && i != "USER root") non_root = true;
    }
    EXPECT_TRUE(non_root) << name;
    EXPECT_FALSE(DockerHealthcheck(dockerfile).empty()) << name;
  }
}

TEST(DockerfileTest, CppBuildStagesAreTheSameAndBuildWhatIsCopied) {
  const auto frontend = Stages(SourcePath("docker/Dockerfile.frontend"));
  const auto service = Stages(SourcePath("docker/Dockerfile.service"));
  ASSERT_GE(frontend.size(), 2u);
  ASSERT_GE(service.size(), 2u);
  // Same text: both images share the cached build.
  EXPECT_EQ(frontend[0], service[0]);
  const auto& build = service[0];
  EXPECT_EQ(build[0], "FROM debian:bookworm AS build");

  const std::vector<std::string> targets = BuildTargets(build);
  const std::vector<std::string> outputs = BuildOutputs(build);
  std::vector<std::string> output_names;
  for (const auto& o : outputs) {
    output_names.push_back(Basename(o));
    EXPECT_TRUE(Exists(BuildPath(o))) << o << " is not in this build";
  }
  EXPECT_THAT(output_names, UnorderedElementsAreArray(targets));
  // What the runtime stages take from /out was built.
  for (const auto* stages : {&frontend, &service}) {
    for (const Copy& c : Copies(stages->back())) {
      if (c.from != "build") continue;
      for (const auto& s : c.sources) {
        EXPECT_THAT(output_names, Contains(Basename(s))) << s;
      }
    }
  }
}

TEST(DockerfileTest, BuildStageInstallsTheMakefileDevPackages) {
  const std::set<std::string> makefile = MakefilePackages();
  ASSERT_FALSE(makefile.empty());
  const auto build = Stages(SourcePath("docker/Dockerfile.service"))[0];
  const std::vector<std::string> packages = AptPackages(build);
  ASSERT_FALSE(packages.empty());
  for (const std::string& p : packages) {
    // python3: CMake's configure step looks for it (services/python_quotes).
    if (p == "python3") continue;
    EXPECT_THAT(makefile, Contains(p)) << p << " is not in DEB_PACKAGES";
  }
  for (const std::string& p : makefile) {
    if (!absl::StartsWith(p, "lib") || !absl::EndsWith(p, "-dev")) continue;
    if (p == "libclang-rt-14-dev") continue;  // sanitizer builds only
    EXPECT_THAT(packages, Contains(p)) << p << " missing from the build stage";
  }
  // The deploy tests' tools are installed by `make deps` too.
  for (const char* tool : {"nginx", "redis-server", "docker-compose", "curl",
                           "openssl", "gettext-base", "libhiredis-dev"}) {
    EXPECT_THAT(makefile, Contains(tool));
  }
}

TEST(DockerfileTest, RuntimeStagesInstallExactlyTheLibrariesLinked) {
  if (FindProgram("ldd").empty() || FindProgram("dpkg").empty()) {
    GTEST_SKIP() << "needs ldd and dpkg (a Debian system)";
  }
  const std::map<std::string, std::vector<std::string>> images = {
      {"docker/Dockerfile.frontend", {SSEBRIDGE_FRONTEND_BIN}},
      {"docker/Dockerfile.service",
       {SSEBRIDGE_CHAT_BOT_BIN, SSEBRIDGE_NOTIFICATIONS_BIN,
        SSEBRIDGE_MONITORING_BIN, SSEBRIDGE_HEALTH_PROBE_BIN}}};
  for (const auto& [dockerfile, binaries] : images) {
    SCOPED_TRACE(dockerfile);
    std::string problems;
    std::set<std::string> needed;
    for (const std::string& b : binaries) {
      const std::set<std::string> linked = LinkedPackages(b, &problems);
      needed.insert(linked.begin(), linked.end());
    }
    EXPECT_EQ(problems, "");
    ASSERT_FALSE(needed.empty());
    std::set<std::string> listed;
    for (const std::string& p :
         AptPackages(Stages(SourcePath(dockerfile)).back())) {
      if (absl::StartsWith(p, "lib")) listed.insert(p);
    }
    EXPECT_EQ(listed, needed)
        << "runtime stage lists: " << absl::StrJoin(listed, " ")
        << "\nbinaries link: " << absl::StrJoin(needed, " ");
  }
}

// ------------------------------------------------------------------ edge

TEST(EdgeConfigTest, ReadTimeoutExceedsEveryHeartbeatAndNoBuffering) {
  const std::string script =
      ReadFile(SourcePath("docker/edge-entrypoint.sh")).value_or("");
  const std::string tpl =
      ReadFile(SourcePath("docker/nginx.conf.template")).value_or("");
  ASSERT_FALSE(script.empty());
  ASSERT_FALSE(tpl.empty());
  for (const char* directive :
       {"proxy_buffering off;", "proxy_http_version 1.1;",
        "proxy_set_header Connection \"\";", "ssl http2;",
        "proxy_read_timeout ${PROXY_READ_TIMEOUT};", "return 301 https://"}) {
    EXPECT_THAT(tpl, HasSubstr(directive));
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(script, m,
                                std::regex(R"(PROXY_READ_TIMEOUT:=(\d+)s)")));
  const absl::Duration read_timeout = absl::Seconds(std::stoi(m[1]));
  auto config = frontend::LoadConfigFile(SourcePath("docker/frontend.yaml"));
  ASSERT_TRUE(config.ok());
  for (const auto& r : config->routes()) {
    const absl::Duration heartbeat =
        r.has_heartbeat() ? absl::Seconds(r.heartbeat().seconds()) +
                                absl::Nanoseconds(r.heartbeat().nanos())
                          : absl::Seconds(15);  // the default
    if (heartbeat == absl::ZeroDuration()) {
      ADD_FAILURE() << r.path() << ": no heartbeat, the edge would cut it";
    }
    EXPECT_LT(heartbeat, read_timeout) << r.path();
  }
}

TEST(EdgeConfigTest, EntrypointRendersEveryTemplateVariable) {
  const std::string script =
      ReadFile(SourcePath("docker/edge-entrypoint.sh")).value_or("");
  const std::string tpl =
      ReadFile(SourcePath("docker/nginx.conf.template")).value_or("");
  const std::regex var(R"(\$\{([A-Z_]+)\})");
  std::set<std::string> used;
  for (auto it = std::sregex_iterator(tpl.begin(), tpl.end(), var);
       it != std::sregex_iterator(); ++it) {
    used.insert((*it)[1]);
  }
  const size_t start = script.find("envsubst '");
  ASSERT_NE(start, std::string::npos);
  const size_t end = script.find('\'', start + 10);
  const std::string list = script.substr(start + 10, end - start - 10);
  std::set<std::string> rendered;
  for (auto it = std::sregex_iterator(list.begin(), list.end(), var);
       it != std::sregex_iterator(); ++it) {
    rendered.insert((*it)[1]);
  }
  EXPECT_EQ(used, rendered);
  for (const std::string& name : used) {
    if (name == "NGINX_USER_LINE") continue;  // computed by the script
    EXPECT_TRUE(absl::StrContains(script, absl::StrCat(": \"${", name, ":=")))
        << name << " has no default in the entrypoint";
  }
}

}  // namespace
}  // namespace ssebridge::testing::deploy

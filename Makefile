# Thin wrapper over CMake/CTest, so that a fresh Debian 12 machine needs only
# `make demo` or `make test`. Everything real lives in CMakeLists.txt.

BUILD_DIR ?= build
JOBS ?= $(shell nproc)
PORT ?= 8080
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages the build and tests need. `make deps` installs only the
# missing ones, and runs `apt-get update` only when something is missing.
# nodejs/npm are not listed: a machine's own Node.js must not be replaced;
# `make demo` and tests/e2e/run_e2e.sh install Debian's (Node.js 18, which
# both support) only when node/npm are absent.
DEB_PACKAGES := cmake ninja-build g++ pkg-config ccache \
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
  libpistache-dev libspdlog-dev libabsl-dev libyaml-cpp-dev \
  libgtest-dev libgmock-dev libbenchmark-dev \
  clang-14 libclang-rt-14-dev llvm-14 \
  python3-grpcio python3-grpc-tools \
  libhiredis-dev redis-server nginx openssl gettext-base curl docker-compose \
  libcjose-dev libjansson-dev libssl-dev \
  chromium

CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

# The symbolizer the sanitizer runtimes of clang-14 (and GCC's ASan) call to
# turn addresses into function names and file:line. Debian 12 ships it in
# llvm-14 (above) as this path only: the unversioned llvm-symbolizer that the
# runtimes look for on PATH comes with the `llvm` package, which nothing
# installs. Without it every stack is bare addresses, and
# tests/tsan_suppressions.txt (function names) matches nothing.
LLVM_SYMBOLIZER ?= /usr/lib/llvm-14/bin/llvm-symbolizer

# ccache hits across clones of the repo (CI builds in a fresh clone).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

ASAN_DIR ?= build-asan
ASAN_OPTIONS_VALUE := detect_leaks=1 abort_on_error=0 strict_string_checks=1 \
  detect_stack_use_after_return=1 external_symbolizer_path=$(LLVM_SYMBOLIZER)
UBSAN_OPTIONS_VALUE := print_stacktrace=1 halt_on_error=1 \
  external_symbolizer_path=$(LLVM_SYMBOLIZER)
# Not repeated under ASan: benchmark smokes and the soak (timing-bound), and
# the browser and deployment tests, which exercise the same frontend code
# through Chromium, nginx and Redis and only take longer.
ASAN_EXCLUDE := _smoke$$|^e2e_browser$$|^EdgeTest\.|^ComposeTest\.|^ComposeFilesTest\.|^DockerfileTest\.|^PythonHealthcheckTest\.

TSAN_DIR ?= build-tsan
# TSan over Debian's uninstrumented gRPC: the measured recipe (DESIGN §10).
TSAN_OPTIONS_VALUE := ignore_noninstrumented_modules=1 halt_on_error=0 \
  second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan_suppressions.txt \
  external_symbolizer_path=$(LLVM_SYMBOLIZER)

# A frame of the canary's race as TSan prints it once symbolized:
# "#0 ...Reader::OnReadDone(bool) .../tsan_canary.cc:32:5 (tsan_canary+0x...)".
TSAN_SYMBOLIZED_FRAME := ^ +\#[0-9]+ .*(Reader::OnReadDone|main) .*tsan_canary\.cc:[0-9]+

FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZERS := sse_roundtrip config_loader http_request jwt_verify

.PHONY: all deps configure build test test-unit test-asan test-tsan test-fuzz \
  fuzz soak bench clean check-symbolizer images compose-test

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Fails unless $(LLVM_SYMBOLIZER) exists and runs, so that no sanitizer stage
# runs with bare-address stacks (test-tsan also checks that TSan's own
# reports come out symbolized: tsan_canary).
check-symbolizer: deps
	@[ -x "$(LLVM_SYMBOLIZER)" ] && "$(LLVM_SYMBOLIZER)" --version >/dev/null 2>&1 || { \
	  echo "make: no working symbolizer at LLVM_SYMBOLIZER=$(LLVM_SYMBOLIZER):" \
	    "sanitizer stacks would be bare addresses and tests/tsan_suppressions.txt" \
	    "would match nothing (Debian 12: apt-get install llvm-14, as make deps does)" >&2; \
	  exit 1; }

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: test-unit test-tsan test-asan test-fuzz

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# Every unit and integration test again under ASan+UBSan, in its own
# build directory (built once; ccache makes rebuilds cheap).
test-asan: check-symbolizer
	@[ -f $(ASAN_DIR)/build.ninja ] || cmake -S . -B $(ASAN_DIR) -G Ninja \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSSEBRIDGE_SANITIZE=address
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS="$(ASAN_OPTIONS_VALUE)" \
	  UBSAN_OPTIONS="$(UBSAN_OPTIONS_VALUE)" \
	  ctest --output-on-failure -j $(JOBS) --timeout 600 -E '$(ASAN_EXCLUDE)'

# libFuzzer targets (clang-14), each run for FUZZ_SECONDS on its seed corpus.
# New inputs go to $(FUZZ_DIR)/corpus-*, never into the repo's seed corpus;
# a crash fails the run and leaves its input in $(FUZZ_DIR).
test-fuzz: check-symbolizer
	@[ -f $(FUZZ_DIR)/build.ninja ] || CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_DIR) \
	  -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSSEBRIDGE_SANITIZE=fuzzer
	cmake --build $(FUZZ_DIR) -j $(JOBS) $(foreach f,$(FUZZERS),--target $(f)_fuzz)
	@for f in $(FUZZERS); do \
	  mkdir -p $(FUZZ_DIR)/corpus-$$f && \
	  echo "fuzz: $$f for $(FUZZ_SECONDS) s" && \
	  (cd $(FUZZ_DIR) && ASAN_OPTIONS="detect_leaks=0 external_symbolizer_path=$(LLVM_SYMBOLIZER)" ./tests/fuzz/$${f}_fuzz \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 \
	    -print_final_stats=1 corpus-$$f $(CURDIR)/tests/fuzz/corpus/$$f \
	    > fuzz-$$f.log 2>&1) || { tail -50 $(FUZZ_DIR)/fuzz-$$f.log; exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' $(FUZZ_DIR)/fuzz-$$f.log; \
	done

fuzz:
	$(MAKE) test-fuzz FUZZ_SECONDS=600

# ~10 minutes of churn, slow clients and backend restarts (60 s in make test).
soak: build
	$(BUILD_DIR)/tests/soak/soak --duration=600s --streams=2000 \
	  --frontend=$(BUILD_DIR)/frontend/ssebridge-frontend

# The threaded relay and replay tests and the disconnect churn (and the racy canary)
# under ThreadSanitizer, built once with clang-14 in their own directory.
# First the canary alone: unless its report names the racing functions with
# file:line, the stage stops here with why (the suppressions match function
# names; unsymbolized, every gRPC-internal report would surface as a race).
test-tsan: check-symbolizer
	@[ -f $(TSAN_DIR)/build.ninja ] || CC=clang-14 CXX=clang++-14 cmake -S . -B $(TSAN_DIR) \
	  -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSSEBRIDGE_SANITIZE=thread
	cmake --build $(TSAN_DIR) -j $(JOBS) --target relay_test replay_test churn_test tsan_canary
	@cd $(TSAN_DIR) && { TSAN_OPTIONS="$(TSAN_OPTIONS_VALUE)" \
	  timeout 120 ./tests/integration/tsan_canary > tsan_canary.log 2>&1; true; } && \
	if grep -Eq '$(TSAN_SYMBOLIZED_FRAME)' tsan_canary.log; then \
	  echo "test-tsan: TSan stacks are symbolized ($(LLVM_SYMBOLIZER))"; \
	else \
	  tail -30 tsan_canary.log; \
	  echo "test-tsan: FAILED: ThreadSanitizer's report of the planted race in" \
	    "tests/integration/tsan_canary.cc has no symbolized frame (function and" \
	    "file:line; full output in $(TSAN_DIR)/tsan_canary.log). Without a working" \
	    "symbolizer (LLVM_SYMBOLIZER=$(LLVM_SYMBOLIZER), from llvm-14)" \
	    "tests/tsan_suppressions.txt matches nothing and every relay test reports races." >&2; \
	  exit 1; \
	fi
	cd $(TSAN_DIR) && TSAN_OPTIONS="$(TSAN_OPTIONS_VALUE)" \
	  ctest --output-on-failure --timeout 600 -R '^(RelayTest\.|ReplayTest\.|ChurnTest\.|tsan_canary$$)'

# The end-to-end benchmark (tests/bench/run_bench): sse-bridge, nginx+nchan
# and Pushpin under the same load client; installs nginx, nchan and pushpin
# when missing. Prints one markdown table.
bench: build
	@command -v python3 >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3; }
	python3 tests/bench/run_bench --build-dir $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(TSAN_DIR) $(ASAN_DIR) $(FUZZ_DIR)

# The demo stack on http://127.0.0.1:$(PORT)/: installs what is missing
# (Debian packages via deps, node/npm via apt if absent, the site's npm
# packages via npm ci), builds the frontend, the C++ services and the site
# (frontend/web -> $(BUILD_DIR)/web), then runs services/demo/run_demo.sh
# until Ctrl-C.
DEMO_TARGETS := ssebridge-frontend ssebridge-keygen chat_bot notifications monitoring
.PHONY: demo
demo: configure
	@command -v npm >/dev/null 2>&1 || { echo "make demo: installing nodejs npm"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq --no-install-recommends nodejs npm; }
	@ninja -C $(BUILD_DIR) build.ninja >/dev/null  # picks up new service dirs
	@missing=""; for t in $(DEMO_TARGETS); do \
	  ninja -C $(BUILD_DIR) -t query $$t >/dev/null 2>&1 || missing="$$missing $$t"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make demo: no build target for:$$missing (not in the source tree yet?)" >&2; exit 1; \
	fi
	cmake --build $(BUILD_DIR) -j $(JOBS) --target $(DEMO_TARGETS)
	$(MAKE) -C frontend/web OUT=$(abspath $(BUILD_DIR))/web
	PORT=$(PORT) BUILD_DIR=$(abspath $(BUILD_DIR)) services/demo/run_demo.sh

# Container images of docker/docker-compose.yml, with docker when a daemon
# answers, else podman (installed from Debian when missing; local base images
# when no registry answers). See README "Deploy" and docker/engine.sh.
images:
	docker/engine.sh images

# The compose stack built, run and driven through the TLS edge, then removed
# (tests/compose/compose_test.sh).
compose-test:
	tests/compose/compose_test.sh

# Thin wrapper over meson. `make test` and `make run` are the README's quickstart.
BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=
# Tests run at once: twice the cores. Most suites wait (daemons on loopback ports, PostgreSQL,
# NATS, a browser playing in real time), so two per core keep the cores busy: on 2 cores the plain
# suites took 470 s instead of 575 s (CPU busy 84 %). Serial tests still run alone.
TEST_JOBS  ?= $(shell echo $$((2 * $$(nproc 2>/dev/null || echo 1))))

.PHONY: all deps build test test-asan test-headers format format-check run demo-sign clean

all: build

deps:
	@tools/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)

# Every suite: unit (Check), header, python (pytest), integration.
# One throwaway PostgreSQL server (tests/pg/pg_run.sh) serves every -pg test of the run.
test: build
	tests/pg/pg_run.sh --optional meson test -C $(BUILD) --num-processes $(TEST_JOBS) --print-errorlogs

# The same tests built with AddressSanitizer and UndefinedBehaviorSanitizer, the
# Python ones included: meson preloads the sanitizer runtimes into CPython for the
# tests that load the cffi module (py_sanitizer_env in meson.build; no leak check
# there, CPython's allocations are not ours). Timeouts are tripled: under the sanitizers a
# Check suite's fork per test is slow (unit-cmcd: 5 s plain, 10 s ASan on a quiet host, over
# meson's default 30 s on a loaded one). LeakSanitizer skips libx264's own blocks only
# (tests/lsan.supp says why).
test-asan: deps
	@[ -f $(ASAN_BUILD)/build.ninja ] || meson setup $(ASAN_BUILD) -Dwerror=true \
	  -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS)
	meson compile -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  tests/pg/pg_run.sh --optional meson test -C $(ASAN_BUILD) --num-processes $(TEST_JOBS) \
	  --timeout-multiplier 3 --print-errorlogs

# Every public header compiles alone as C and as C++.
test-headers: build
	meson test -C $(BUILD) --suite header --print-errorlogs

C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(C_SOURCES)

format-check:
	clang-format --dry-run -Werror $(C_SOURCES)

# The main job: streamd on http://127.0.0.1:8080 with the demo catalog and a demo account
# (data in ./data; prints the address and the demo credentials; Ctrl-C stops it), serving the
# web player (examples/web, its npm packages installed with npm ci) with one playable title
# (transcoded on the first start from a generated source).
run: build
	tools/run.sh $(BUILD)

# The signing demo with streamctl (signed URLs in three formats, Argon2id).
demo-sign: build
	tools/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# Shortcuts; the README's two commands (`swift run chapterN`, `swift test`) need nothing else.
CHAPTER ?= 1

.PHONY: run test book check build bench sanitize fuzz format docs docs-coverage

run:
	swift run chapter$(CHAPTER)

test:
	swift test

build:
	swift build

# Bless: rewrite the book's blocks that no longer match (unchanged blocks stay byte for byte).
book: build
	swift run book update

check: build
	swift run book check

# The runtime's reference documentation with the toolchain's own DocC (no plugin): `book docs` extracts
# the built module's public symbol graph (swift-symbolgraph-extract -minimum-access-level public, from
# .build/debug/Modules), then runs `docc convert Sources/Multiprocessing/Multiprocessing.docc
# --additional-symbol-graph-dir … --warnings-as-errors --output-path .build/Multiprocessing.doccarchive`.
# Fails on any DocC warning, a public symbol without a doc comment, or a top-level symbol missing from
# the landing page's Topics. `swift test` checks the same (DocsTests).
docs: build
	swift run book docs

# Lists everything the docs still miss, in one pass: DocC's warnings (broken ``links``, missing
# `- Parameter` entries), public symbols without a doc comment, top-level symbols missing from the
# landing page, and code spans in doc comments that name a public symbol without linking it (DocC
# checks a link, never a code span). `swift run book docs-coverage --link` turns each span that names
# one symbol into a link; rebuild and run this again.
docs-coverage: build
	swift run book docs-coverage

# Benchmarks side by side with Python's multiprocessing; not part of the tests. A statically linked
# Swift stdlib makes fork cheaper (fewer mappings to copy).
bench:
	swift build -c release --static-swift-stdlib --product bench
	.build/release/bench

# The runtime tests under AddressSanitizer, then the thread-using parts under ThreadSanitizer.
# LeakSanitizer is off: at exit it reports XCTest's own test-case and closure objects (about 8.5 KB,
# nothing from the runtime); leaks of ours are caught by the soak tests (RSS, fds) instead.
# TSan cannot follow a fork of a multi-threaded process in general (the child may not start threads;
# die_after_fork=0 lets the children that do not, run); it checks the tests whose parent uses threads.
# The Swift runtime's backtracer is off: under ASan a crashing worker's backtracer process was left
# orphaned, holding the test's output pipe open, and `swift test` waited for it for ever.
TSAN_TESTS = ConnectionTests|LifecycleTests|LockTests|FaultTests|SignalStormTests
sanitize: export SWIFT_BACKTRACE = enable=no
sanitize:
	ASAN_OPTIONS=detect_leaks=0 swift test --sanitize address --scratch-path .build-asan --filter MultiprocessingTests
	TSAN_OPTIONS=die_after_fork=0:halt_on_error=1:handle_sigill=0:handle_abort=0 swift test --sanitize thread --scratch-path .build-tsan --filter '$(TSAN_TESTS)'

# libFuzzer on the codec decoder and the frame reader (Sources/CodecFuzzer, not a SwiftPM target:
# built here with the codec target's sources only, -sanitize=fuzzer,address). FUZZ_TIME seconds (default 300);
# new inputs go to .build-fuzz/corpus; the small seed corpus is Sources/CodecFuzzer/corpus.
FUZZ_TIME ?= 300
FUZZ_DIR = .build-fuzz
fuzz:
	mkdir -p $(FUZZ_DIR)/corpus
	swiftc -swift-version 6 -O -g -sanitize=fuzzer,address -parse-as-library -module-name CodecFuzzer \
		-package-name MultiprocessingBook \
		$(wildcard Sources/MultiprocessingCodec/*.swift) Sources/CodecFuzzer/main.swift \
		-o $(FUZZ_DIR)/codec-fuzzer
	ASAN_OPTIONS=detect_leaks=0 $(FUZZ_DIR)/codec-fuzzer -max_total_time=$(FUZZ_TIME) -max_len=4096 \
		-malloc_limit_mb=64 -rss_limit_mb=1024 -timeout=5 -print_final_stats=1 \
		$(FUZZ_DIR)/corpus Sources/CodecFuzzer/corpus

# Formats every Swift file with the toolchain's swift-format and the project's .swift-format
# (the tests check that `swift-format lint --strict` finds nothing).
format:
	swift format format --in-place --recursive --parallel Package.swift Sources Chapters Tests Exercises/chapter*

# Shortcuts; the README's two commands (`swift run chapterN`, `swift test`) need nothing else.
CHAPTER ?= 1

.PHONY: run test book check build bench sanitize fuzz

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

# Benchmarks side by side with Python's multiprocessing; not part of the tests. A statically linked
# Swift stdlib makes fork cheaper (fewer mappings to copy).
bench:
	swift run -c release --static-swift-stdlib bench

# The runtime tests under AddressSanitizer, then the thread-using parts under ThreadSanitizer.
# LeakSanitizer is off: at exit it reports XCTest's own test-case and closure objects (about 8.5 KB,
# nothing from the runtime); leaks of ours are caught by the soak tests (RSS, fds) instead.
# TSan cannot follow a fork of a multi-threaded process in general (the child may not start threads;
# die_after_fork=0 lets the children that do not, run); it checks the tests whose parent uses threads.
TSAN_TESTS = ConnectionTests|LifecycleTests|LockTests|FaultTests|SignalStormTests
sanitize:
	ASAN_OPTIONS=detect_leaks=0 swift test --sanitize address --scratch-path .build-asan --filter MultiprocessingTests
	TSAN_OPTIONS=die_after_fork=0:halt_on_error=1 swift test --sanitize thread --scratch-path .build-tsan --filter '$(TSAN_TESTS)'

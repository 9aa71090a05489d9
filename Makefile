# Shortcuts; the README's two commands (`swift run chapterN`, `swift test`) need nothing else.
CHAPTER ?= 1

.PHONY: run test book check build bench

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

// Shared by every fault, soak, parent-death and signal-storm test: seeded randomness whose seed is
// printed on failure, bounded waits, and the assertion over the one /proc-based check that nothing
// was left behind (`Leftovers`, in MultiprocessingTestSupport).

import Glibc
import MultiprocessingTestSupport
import XCTest

@testable import Multiprocessing

/// A seeded random source for a fault test. The seed comes from MP_FAULT_SEED when set (to replay a
/// failure), otherwise it is fresh; `describe` is put into every assertion message.
struct FaultRandom: RandomNumberGenerator {
    let seed: UInt64
    private var generator: SplitMix64

    init(_ test: String) {
        seed = ProcessIO.environment("MP_FAULT_SEED").flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        generator = SplitMix64(seed: seed)
        print("\(test): seed \(seed) (replay with MP_FAULT_SEED=\(seed))")
    }

    /// "seed N": appended to assertion messages so that a failure names its seed.
    var describe: String { "seed \(seed), replay with MP_FAULT_SEED=\(seed)" }

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &generator) }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &generator) < probability }
    mutating func microseconds(_ range: ClosedRange<Int>) -> Duration { .microseconds(int(range)) }
    mutating func next() -> UInt64 { generator.next() }
}

extension Leftovers {
    /// Asserts that nothing is left; kills and reaps what is, so one failure does not cascade.
    func assertNothingLeft(
        _ context: String, within timeout: Duration = .seconds(5),
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let found = problems(within: timeout)
        XCTAssertEqual(found, [], context, file: file, line: line)
        if !found.isEmpty { killWhatIsLeft() }
    }
}

/// Runs `body` on a plain thread and waits at most `bound` for it. Returns its result, or nil when
/// it did not finish in time (a hang: the thread is abandoned, the test fails instead of hanging).
func bounded<T: Sendable>(_ bound: Duration, _ body: @escaping @Sendable () -> T) -> T? {
    let box = BoundedBox<T>()
    let thread = TestThread {
        let value = body()
        box.mutex.withLock {
            box.value = value
            box.done = true
        }
    }
    let deadline = ContinuousClock.now + bound
    while ContinuousClock.now < deadline {
        if box.mutex.withLock({ box.done }) {
            thread.join()
            return box.mutex.withLock { box.value }
        }
        ProcessIO.sleep(for: .milliseconds(1))
    }
    return nil
}

private final class BoundedBox<T>: @unchecked Sendable {
    let mutex = LocalMutex()
    var value: T?
    var done = false
}

/// True when this test binary runs under a sanitizer (`make sanitize`): forking a sanitized process
/// copies gigabytes of shadow mappings, and the allocator's quarantine makes RSS meaningless, so the
/// soak tests scale their counts down and skip the RSS bound there (and say so).
let underSanitizer: Bool = {
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil
        || dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil
}()

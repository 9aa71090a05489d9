import Glibc
import Synchronization
import XCTest

@testable import Multiprocessing

// Helpers the connection tests share: an exact-error assertion, a storm of signals, a plain thread.

/// Expects `body` to throw exactly `expected`.
func assertThrows<T>(
    _ expected: ConnectionError, _ body: () throws(ConnectionError) -> T,
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        let value = try body()
        XCTFail("expected \(expected), got \(value)", file: file, line: line)
    } catch {
        XCTAssertEqual(error, expected, file: file, line: line)
    }
}

/// Sends a signal to one thread, again and again, until stopped.
final class SignalStorm: @unchecked Sendable {
    private let target: pthread_t
    private let signal: Int32
    private let running = Atomic<Bool>(true)
    private let sent = Atomic<Int>(0)
    private var thread: TestThread?

    init(target: pthread_t, signal: Int32) {
        self.target = target
        self.signal = signal
    }

    func start() {
        thread = TestThread { [self] in
            while running.load(ordering: .relaxed) {
                pthread_kill(target, signal)
                sent.wrappingAdd(1, ordering: .relaxed)
                Sys.sleep(for: .microseconds(100))
            }
        }
    }

    /// Stops the storm; returns how many signals it sent.
    @discardableResult
    func stop() -> Int {
        running.store(false, ordering: .relaxed)
        thread?.join()
        thread = nil
        return sent.load(ordering: .relaxed)
    }
}

/// A plain pthread running a closure (tests only; children never use it).
final class TestThread: @unchecked Sendable {
    private var handle = pthread_t()

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body))
        pthread_create(
            &handle, nil,
            { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, box.toOpaque())
    }

    func join() {
        pthread_join(handle, nil)
    }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}

/// A byte pattern that a receiver can check without the original: byte i is (i * 31 + seed) % 251.
func pattern(count: Int, seed: Int) -> [UInt8] {
    let cycle = (0..<251).map { UInt8(truncatingIfNeeded: ($0 &* 31 &+ seed) % 251) }  // the period is 251
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count + 251)
    while bytes.count < count { bytes.append(contentsOf: cycle) }
    bytes.removeLast(bytes.count - count)
    return bytes
}

import Glibc
import XCTest

@testable import Multiprocessing

/// SharedValue and SharedArray (with a lock), RawSharedValue and RawSharedArray (without): plain
/// data in shared memory.
final class SharedValueTests: XCTestCase {
    func testWithLockMakesIncrementsExactAcrossProcesses() throws {
        let counter = try SharedValue(0)
        let workers = (0..<2).map { _ in ChildProcess { for _ in 0..<25_000 { counter.withLock { $0 += 1 } } } }
        for worker in workers { try worker.start() }
        for worker in workers { try worker.join() }
        XCTAssertEqual(workers.map(\.exitCode), [0, 0])
        XCTAssertEqual(counter.value, 50_000)
    }

    func testTheLockIsReentrantLikePythons() throws {
        let value = try SharedValue(1.5)
        value.lock.withLock { value.value *= 2 }  // `value` takes the same RLock inside
        XCTAssertEqual(value.value, 3.0)
    }

    struct Refused: Error, Equatable {
        let at: Int
    }

    /// Compiles only if `withLock` throws exactly what its body throws.
    private func incrementThenRefuse(_ counter: SharedValue<Int>) throws(Refused) -> Never {
        try counter.withLock { (value: inout Int) throws(Refused) -> Never in
            value += 1
            throw Refused(at: value)
        }
    }

    func testWithLockThrowsTheBodysOwnErrorTypeAndReleasesTheLock() throws {
        let counter = try SharedValue(5)
        do {
            try incrementThenRefuse(counter)
        } catch {
            XCTAssertEqual(error, Refused(at: 6))  // `error` is a Refused here, not `any Error`
        }
        XCTAssertFalse(counter.lock.isOwnedByCurrentThread, "released although the body threw")
        XCTAssertEqual(counter.value, 6, "what the body changed before throwing stays changed, as in Python")
        let array = try SharedArray([1, 2, 3])
        XCTAssertThrowsError(
            try array.withLock { (elements) throws(Refused) in
                elements[0] = 10
                throw Refused(at: elements[0])
            }
        ) { XCTAssertEqual($0 as? Refused, Refused(at: 10)) }
        XCTAssertFalse(array.lock.isOwnedByCurrentThread)
        // A body that cannot throw needs no `try`.
        let doubled = counter.withLock {
            $0 *= 2
            return $0
        }
        XCTAssertEqual(doubled, 12)
        XCTAssertEqual(array.withLock { $0.reduce(0, +) }, 15)
    }

    func testRawStructValueHasNoLockAndIsSharedAcrossAFork() throws {
        struct Point: BitwiseCopyable, Equatable {
            var x: Int32
            var y: Double
        }
        let point = try RawSharedValue(Point(x: 1, y: 2))
        XCTAssertEqual(point.value, Point(x: 1, y: 2))
        let child = ChildProcess { point.value = Point(x: 7, y: 8.5) }
        try child.start()
        try child.join()
        XCTAssertEqual(child.exitCode, 0)
        XCTAssertEqual(point.value, Point(x: 7, y: 8.5))
    }

    func testRawValuesGuardedByALockOfTheirOwnStayExact() throws {
        // RawValue's use in Python: several raw values updated together under one lock.
        let lock = try Lock()
        let count = try RawSharedValue(0)
        let sum = try RawSharedValue(0)
        let workers = (1...2).map { worker in
            ChildProcess {
                for _ in 0..<10_000 {
                    lock.withLock {
                        count.value += 1
                        sum.value += worker
                    }
                }
            }
        }
        for worker in workers { try worker.start() }
        for worker in workers { try worker.join() }
        XCTAssertEqual(workers.map(\.exitCode), [0, 0])
        XCTAssertEqual(count.value, 20_000)
        XCTAssertEqual(sum.value, 30_000)
    }

    func testArrayElementsWrittenByChildren() throws {
        let squares = try SharedArray<Int>(count: 100)
        XCTAssertEqual(squares.elements, Array(repeating: 0, count: 100))
        let workers = (0..<4).map { part in
            ChildProcess { for index in stride(from: part, to: 100, by: 4) { squares[index] = index * index } }
        }
        for worker in workers { try worker.start() }
        for worker in workers { try worker.join() }
        XCTAssertEqual(squares.elements, (0..<100).map { $0 * $0 })
        let total = squares.withLock { $0.reduce(0, +) }
        XCTAssertEqual(total, 328_350)
    }

    func testRawArrayElementsWrittenByChildren() throws {
        let cubes = try RawSharedArray<Int>(count: 64)
        XCTAssertEqual(cubes.elements, Array(repeating: 0, count: 64))
        let workers = (0..<2).map { part in
            // Each child writes its own elements: nothing to lock.
            ChildProcess { for index in stride(from: part, to: 64, by: 2) { cubes[index] = index * index * index } }
        }
        for worker in workers { try worker.start() }
        for worker in workers { try worker.join() }
        XCTAssertEqual(workers.map(\.exitCode), [0, 0])
        XCTAssertEqual(cubes.elements, (0..<64).map { $0 * $0 * $0 })
    }

    func testArrayInitializersAndMisuse() throws {
        XCTAssertEqual(try SharedArray([1.5, 2.5]).elements, [1.5, 2.5])
        XCTAssertEqual(try SharedArray<UInt8>([]).count, 0)
        XCTAssertEqual(try SharedArray(repeating: 7, count: 3).elements, [7, 7, 7])
        XCTAssertEqual(try RawSharedArray([1.5, 2.5]).elements, [1.5, 2.5])
        XCTAssertEqual(try RawSharedArray<UInt8>([]).elements, [])
        XCTAssertEqual(try RawSharedArray(repeating: 7, count: 3).elements, [7, 7, 7])
        XCTAssertThrowsError(try SharedArray<Double>(count: -1)) { XCTAssertEqual($0 as? SyncError, .invalidCount(-1)) }
        XCTAssertThrowsError(try RawSharedArray<Double>(count: -2)) {
            XCTAssertEqual($0 as? SyncError, .invalidCount(-2))
        }
        // Bigger than a page.
        let big = try SharedArray<Double>(count: 100_000)
        big[99_999] = 1
        XCTAssertEqual(big[99_999], 1)
        let rawBig = try RawSharedArray<Double>(count: 100_000)
        rawBig[99_999] = 2
        XCTAssertEqual(rawBig[99_999], 2)
    }
}

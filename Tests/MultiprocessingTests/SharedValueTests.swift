import Glibc
import XCTest
@testable import Multiprocessing

/// SharedValue and SharedArray: plain data in shared memory.
final class SharedValueTests: XCTestCase {
    func testWithLockMakesIncrementsExactAcrossProcesses() throws {
        let counter = try SharedValue(0)
        let workers = (0..<2).map { _ in ChildProcess { for _ in 0..<25_000 { try counter.withLock { $0 += 1 } } } }
        for worker in workers { try worker.start() }
        for worker in workers { try worker.join() }
        XCTAssertEqual(workers.map(\.exitCode), [0, 0])
        XCTAssertEqual(counter.value, 50_000)
    }

    func testTheLockIsReentrantLikePythons() throws {
        let value = try SharedValue(1.5)
        value.lock!.withLock { value.value *= 2 }  // `value` takes the same RLock inside
        XCTAssertEqual(value.value, 3.0)
    }

    func testStructValuesAndNoLock() throws {
        struct Point: BitwiseCopyable, Equatable { var x: Int32; var y: Double }
        let point = try SharedValue(Point(x: 1, y: 2), lock: false)
        XCTAssertNil(point.lock)
        XCTAssertThrowsError(try point.withLock { $0.x += 1 }) { XCTAssertEqual($0 as? SyncError, .noLock) }
        let child = ChildProcess { point.value = Point(x: 7, y: 8.5) }
        try child.start()
        try child.join()
        XCTAssertEqual(point.value, Point(x: 7, y: 8.5))
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
        let total = try squares.withLock { $0.reduce(0, +) }
        XCTAssertEqual(total, 328_350)
    }

    func testArrayInitializersAndMisuse() throws {
        XCTAssertEqual(try SharedArray([1.5, 2.5]).elements, [1.5, 2.5])
        XCTAssertEqual(try SharedArray<UInt8>([]).count, 0)
        XCTAssertEqual(try SharedArray(repeating: 7, count: 3, lock: false).elements, [7, 7, 7])
        XCTAssertThrowsError(try SharedArray<Double>(count: -1)) { XCTAssertEqual($0 as? SyncError, .invalidCount(-1)) }
        XCTAssertThrowsError(try SharedArray<Int>(count: 2, lock: false).withLock { _ in }) {
            XCTAssertEqual($0 as? SyncError, .noLock)
        }
        // Bigger than a page.
        let big = try SharedArray<Double>(count: 100_000)
        big[99_999] = 1
        XCTAssertEqual(big[99_999], 1)
    }
}

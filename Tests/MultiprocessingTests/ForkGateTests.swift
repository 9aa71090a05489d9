import Glibc
import Synchronization
import XCTest

@testable import Multiprocessing

/// Types the Swift runtime has never seen: each `make` instantiates new generic metadata, which the
/// runtime does holding a lock of its metadata cache.
enum FreshTypes {
    enum End {}
    struct Zero<T> {}
    struct One<T> {}

    static func make(_ n: UInt64, depth: Int = 24) -> Any.Type { descend(End.self, n, depth) }

    private static func descend<T>(_: T.Type, _ n: UInt64, _ depth: Int) -> Any.Type {
        if depth == 0 { return T.self }
        return n & 1 == 0 ? descend(Zero<T>.self, n >> 1, depth - 1) : descend(One<T>.self, n >> 1, depth - 1)
    }
}

/// Keeps a pool busy: every answer's callback (on the pool's I/O thread) instantiates new types and
/// submits the next task, until `stop`.
final class Churn: @unchecked Sendable {
    let pool: Pool<Int, Int>
    private let next = Atomic<UInt64>(1 << 32)
    private let stopped = Atomic<Bool>(false)
    let callbacks = Atomic<Int>(0)

    init(pool: Pool<Int, Int>) { self.pool = pool }

    func submit() {
        if stopped.load(ordering: .relaxed) { return }
        _ = try? pool.applyAsync(
            1,
            onSuccess: { [self] _ in
                for _ in 0..<8 { _ = FreshTypes.make(next.add(1, ordering: .relaxed).newValue) }
                callbacks.add(1, ordering: .relaxed)
                submit()
            })
    }

    func stop() { stopped.store(true, ordering: .relaxed) }
}

final class ForkGateTests: XCTestCase {
    func testChildrenStartedWhileAPoolIsBusyAllRunTheirClosure() throws {
        let pool = try Pool(processes: 2) { (x: Int) -> Int in x + 1 }
        let churn = Churn(pool: pool)
        for _ in 0..<8 { churn.submit() }
        var hung: [Int] = []
        for index in 0..<150 {
            let n = UInt64(index) << 40
            let child = ChildProcess { _ = FreshTypes.make(n) }
            try child.start()
            if try !child.join(timeout: .seconds(3)) {
                hung.append(index)
                try child.kill()
                try child.join()
            } else {
                XCTAssertEqual(child.exitCode, 0)
            }
        }
        churn.stop()
        XCTAssertGreaterThan(churn.callbacks.load(ordering: .relaxed), 150)
        pool.close()
        try pool.join()
        XCTAssertEqual(hung, [], "children that never ended")
    }
}

import Multiprocessing
import Notebook

/// `swift run chapter4 lost-update`
let lostUpdateCell = Cell("lost-update", "Without a lock, an update can be lost", lostUpdate)

nonisolated func lostUpdate() throws {
    // cell: lost-update
    let counter = try RawSharedValue(0)
    let aHasRead = try Event()
    let bHasWritten = try Event()
    let a = ChildProcess(name: "A") {
        let seen = counter.value
        print("A: read \(seen)")
        aHasRead.set()
        bHasWritten.wait()  // forces the unlucky moment: B runs between A's read and A's write
        counter.value = seen + 1
        print("A: wrote \(seen + 1)")
    }
    let b = ChildProcess(name: "B") {
        aHasRead.wait()
        let seen = counter.value
        print("B: read \(seen)")
        counter.value = seen + 1
        print("B: wrote \(seen + 1)")
        bHasWritten.set()
    }
    for process in [a, b] { try process.start() }
    for process in [a, b] { try process.join() }
    print("two increments, and the counter is \(counter.value)")
    // end cell
}

/// `swift run chapter4 counter`
let lockedCounterCell = Cell("counter", "With a lock, the total is exact", lockedCounter)

nonisolated func lockedCounter() throws {
    // cell: counter
    let lock = try Lock()
    let counter = try RawSharedValue(0)
    let go = try Event()
    let workers = (1...4).map { _ in
        ChildProcess {
            go.wait()  // all four start counting together, so that they really overlap
            for _ in 0..<250_000 {
                lock.acquire()
                counter.value += 1  // read, add one, write back: nobody else runs this meanwhile
                try lock.release()
            }
        }
    }
    for worker in workers { try worker.start() }
    go.set()
    for worker in workers { try worker.join() }
    print("4 processes × 250000 increments: counter = \(counter.value), exact: \(counter.value == 1_000_000)")
    // end cell
}

/// `swift run chapter4 with-lock`
let withLockDemoCell = Cell("with-lock", "withLock: acquire and release in one", withLockDemo)

nonisolated func withLockDemo() throws {
    // cell: with-lock
    let lock = try Lock()
    let counter = try RawSharedValue(0)
    let tally = try SharedValue(0)  // has a lock of its own
    let workers = (1...4).map { _ in
        ChildProcess {
            for _ in 0..<25_000 {
                lock.withLock { counter.value += 1 }
                tally.withLock { $0 += 1 }  // the value's own lock, held for one update
            }
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
    print("lock.withLock: \(counter.value), tally.withLock: \(tally.value)")
    // end cell
}

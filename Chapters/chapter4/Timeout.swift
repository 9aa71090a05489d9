import Multiprocessing
import Notebook

/// `swift run chapter4 timeout`
let timeoutDemoCell = Cell("timeout", "Giving up: tryAcquire and acquire(timeout:)", timeoutDemo)

nonisolated func timeoutDemo() throws {
    // cell: timeout
    let lock = try Lock()
    let gaveUp = try Event()
    lock.acquire()
    print("main: I hold the lock")
    let other = ChildProcess(name: "other") {
        print("other: tryAcquire() -> \(lock.tryAcquire())")
        let started = ContinuousClock.now
        let acquired = lock.acquire(timeout: .milliseconds(300))
        let waited = ContinuousClock.now - started
        print(
            "other: acquire(timeout: 0.3 s) -> \(acquired), after waiting 0.3 s or more: \(waited >= .milliseconds(300))"
        )
        gaveUp.set()
        print("other: acquire(timeout: 10 s) -> \(lock.acquire(timeout: .seconds(10)))")
        try lock.release()
    }
    try other.start()
    gaveUp.wait()
    print("main: releasing the lock")
    try lock.release()
    try other.join()
    // end cell
}

import Multiprocessing
import Notebook

/// `swift run chapter8 apply-async`
let applyAsyncRoundsCell = Cell(
    "apply-async", "applyAsync: ten tasks, three workers, three at a time", applyAsyncRounds)

nonisolated func applyAsyncRounds() throws {
    // cell: apply-async
    let running = try SharedArray<Int>(count: 2)  // [tasks running now, most running at once]
    let threeRunning = try Event()  // so that the overlap shows even on a busy machine
    let pool = try Pool(processes: 3) { (task: Int) -> String in
        let now = running.withLock { counts in
            counts[0] += 1
            counts[1] = max(counts[1], counts[0])
            return counts[0]
        }
        if now == 3 { threeRunning.set() }
        threeRunning.wait()  // the first tasks wait here until three are running
        demoSleep(.milliseconds(300))  // the work
        running.withLock { $0[0] -= 1 }
        return "hello \(task)"
    }
    let results = try (0..<10).map { try pool.applyAsync($0) }  // returns at once: no result yet
    print("main: 10 tasks handed to the pool")
    print("results: \(try results.map { try $0.get() })")
    print("most tasks running at once: \(running[1]), with 3 workers")
    pool.close()
    try pool.join()
    // end cell
}

/// `swift run chapter8 apply`
let applyOneByOneCell = Cell("apply", "apply: one task after another", applyOneByOne)

nonisolated func applyOneByOne() throws {
    // cell: apply
    let running = try SharedArray<Int>(count: 2)  // [tasks running now, most running at once]
    let pool = try Pool(processes: 3) { (task: Int) -> String in
        running.withLock { counts in
            counts[0] += 1
            counts[1] = max(counts[1], counts[0])
        }
        demoSleep(.milliseconds(100))  // the work
        running.withLock { $0[0] -= 1 }
        return "hello \(task)"
    }
    var results: [String] = []
    for task in 0..<10 {
        results.append(try pool.apply(task))  // waits for this task's result before the next is sent
    }
    print("results: \(results)")
    print("most tasks running at once: \(running[1]), with 3 workers")
    pool.close()
    try pool.join()
    // end cell
}

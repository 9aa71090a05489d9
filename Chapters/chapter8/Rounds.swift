import Multiprocessing
import Notebook

/// `swift run chapter8 apply-async`
let applyAsyncRoundsCell = Cell(
    "apply-async", "applyAsync: ten tasks, three workers, three at a time", applyAsyncRounds)

nonisolated func applyAsyncRounds() throws {
    // cell: apply-async
    let mayFinish = try (0..<10).map { _ in try Event() }  // one go-ahead per task
    let running = try Queue<Int>()  // "task n is running"
    let pool = try Pool(processes: 3) { (task: Int) -> String in
        try running.put(task)
        mayFinish[task].wait()
        demoSleep(.milliseconds(300))  // the work
        return "hello \(task)"
    }
    let results = try (0..<10).map { try pool.applyAsync($0) }
    print("main: 10 tasks handed to the pool; applyAsync returned at once")

    var rounds = 0
    var finished = 0
    while finished < 10 {
        let atOnce = try (0..<min(3, 10 - finished)).map { _ in try running.get() }
        rounds += 1
        print("round \(rounds): \(atOnce.count) running at once")
        for task in atOnce { mayFinish[task].set() }
        finished += atOnce.count
    }
    print("10 tasks in \(rounds) rounds; ran in parallel: \(rounds < 10 ? "yes" : "no")")
    print("results: \(try results.map { try $0.get() })")
    pool.close()
    try pool.join()
    // end cell
}

/// `swift run chapter8 apply`
let applyOneByOneCell = Cell("apply", "apply: one task after another", applyOneByOne)

nonisolated func applyOneByOne() throws {
    // cell: apply
    let running = try Queue<Int>()
    let pool = try Pool(processes: 3) { (task: Int) -> String in
        try running.put(task)
        demoSleep(.milliseconds(100))  // the work
        return "hello \(task)"
    }
    var rounds = 0
    var mostAtOnce = 0
    for task in 0..<10 {
        let result = try pool.apply(task)  // waits for this task before the next is sent
        mostAtOnce = max(mostAtOnce, running.count)
        _ = try running.get()
        rounds += 1
        if task < 2 { print("apply returned \(result)") }
    }
    print("10 tasks in \(rounds) rounds, at most \(mostAtOnce) at once; ran in parallel: \(rounds < 10 ? "yes" : "no")")
    pool.close()
    try pool.join()
    // end cell
}

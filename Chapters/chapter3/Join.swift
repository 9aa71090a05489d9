import Multiprocessing
import Notebook

/// `swift run chapter3 join`
let joinWaitsCell = Cell("join", "join waits for the child to end", joinWaits)

nonisolated func joinWaits() throws {
    // cell: join
    let worker = ChildProcess(name: "worker") {
        for step in 1...3 {
            demoSleep(.milliseconds(300))
            print("worker: step \(step) of 3")
        }
    }
    try worker.start()
    print("main: waiting for the worker")
    try worker.join()
    print("main: joined; the worker is alive? \(worker.isAlive), exit code \(worker.exitCode!)")
    // end cell
}

/// `swift run chapter3 join-timeout`
let joinTimeoutCell = Cell("join-timeout", "join(timeout:) gives up waiting, not the child", joinTimeout)

nonisolated func joinTimeout() throws {
    // cell: join-timeout
    let mayFinish = try Cue()
    let worker = ChildProcess(name: "worker") { mayFinish.wait() }
    try worker.start()

    let started = ContinuousClock.now
    try worker.join(timeout: .milliseconds(500))
    let waited = ContinuousClock.now - started
    print("after join(timeout: 0.5 s): alive? \(worker.isAlive), exit code \(String(describing: worker.exitCode))")
    print("waited at least the timeout? \(waited >= .milliseconds(500))")

    mayFinish.signal()
    try worker.join()
    print("after join(): alive? \(worker.isAlive), exit code \(String(describing: worker.exitCode))")
    // end cell
}

/// `swift run chapter3 join-in-loop`
let joinInLoopCell = Cell("join-in-loop", "join inside the start loop runs one at a time", joinInLoop)

nonisolated func joinInLoop() throws {
    // cell: join-in-loop
    var started = ContinuousClock.now
    var mostAtOnce = 0
    for number in 1...3 {
        let worker = ChildProcess(name: "worker \(number)") {
            print("worker \(number): start")
            demoSleep(.seconds(1))
            print("worker \(number): end")
        }
        try worker.start()
        mostAtOnce = max(mostAtOnce, activeChildren().count)
        try worker.join()  // the mistake: the next worker cannot start until this one ends
    }
    let inTheLoop = ContinuousClock.now - started
    print("join inside the loop: at most \(mostAtOnce) worker running at once")

    started = ContinuousClock.now
    let everyoneStarted = try Cue()
    let workers = (1...3).map { number in
        ChildProcess(name: "worker \(number)") {
            everyoneStarted.wait()
            demoSleep(.seconds(1))
        }
    }
    for worker in workers { try worker.start() }
    print("start all, then join: \(activeChildren().count) workers running at once")
    everyoneStarted.signal(times: workers.count)
    for worker in workers { try worker.join() }
    let allAtOnce = ContinuousClock.now - started

    let oneSleep = Duration.seconds(1) * TimeScale.factor  // what demoSleep(.seconds(1)) sleeps
    print("the loop took three sleeps or more: \(inTheLoop >= oneSleep * 3)")
    print("start all, then join took less time than the loop: \(allAtOnce < inTheLoop)")
    // end cell
}

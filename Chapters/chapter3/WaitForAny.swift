import Multiprocessing
import Notebook

/// `swift run chapter3 wait-for-any`
let waitForAnyDemoCell = Cell("wait-for-any", "Waiting for several children at once", waitForAnyDemo)

nonisolated func waitForAnyDemo() throws {
    // cell: wait-for-any
    let results = try Queue<String>()
    let cues = try (1...3).map { _ in try Cue() }
    let workers = (1...3).map { number in
        ChildProcess(name: "worker \(number)") {
            cues[number - 1].wait()
            try results.put("result of worker \(number)")
            cues[number - 1].wait()  // then stays until told to end
        }
    }
    for worker in workers { try worker.start() }

    var watched: [any Waitable] = [results] + workers
    var names = ["results"] + workers.map(\.name)
    func ready(timeout: Duration? = nil) throws -> [String] {
        try waitForAny(watched, timeout: timeout).map { names[$0] }
    }
    print("ready within 0.2 s: \(try ready(timeout: .milliseconds(200)))")
    cues[1].signal()  // worker 2 puts its result
    print("ready: \(try ready())")
    print("got: \(try results.get())")
    cues[1].signal()  // worker 2 ends
    print("ready: \(try ready())")
    watched.remove(at: 2)  // an ended child stays ready: stop watching worker 2
    names.remove(at: 2)

    try workers[2].kill()  // worker 3 dies before it has a result
    print("ready: \(try ready()), worker 3's exit code: \(workers[2].exitCode!)")
    cues[0].signal(times: 2)  // worker 1 puts its result and ends
    try workers[0].join()
    print("ready: \(try ready())")
    // end cell
}

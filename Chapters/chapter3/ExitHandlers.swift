import Multiprocessing
import Notebook

/// `swift run chapter3 exit-handlers`
let exitHandlersCell = Cell("exit-handlers", "Exit handlers run at a normal exit", exitHandlers)

nonisolated func exitHandlers() throws {
    // cell: exit-handlers
    let program = ChildProcess(name: "program") {
        let stop = try Cue()
        atProcessExit {
            print("program: exit handler 1 (registered first, runs last): stop the worker")
            stop.signal()
        }
        let worker = ChildProcess(name: "worker") {
            stop.wait()
            print("worker: stopping; the program's handlers do not run here")
        }
        try worker.start()
        atProcessExit { print("program: exit handler 2 (registered last, runs first)") }
        print("program: this is my last line")
    }  // the program ends: its handlers run, then its exit handling joins the worker
    try program.start()
    try program.join()
    print("after the program: exit code \(program.exitCode!)")
    // end cell
}

import Multiprocessing
import Notebook

/// `swift run chapter2 close`
let closeDemoCell = Cell("close", "Closing a process object", closeDemo)

nonisolated func closeDemo() throws {
    // cell: close
    let mayFinish = try Cue()
    let worker = ChildProcess(name: "worker") { mayFinish.wait() }
    try worker.start()
    attempt("close while it runs") { try worker.close() }
    mayFinish.signal()
    attempt("join") { try worker.join() }
    attempt("close") { try worker.close() }
    attempt("close again") { try worker.close() }
    attempt("join after close") { try worker.join() }
    print("what it knew is kept: exit code \(worker.exitCode!), alive? \(worker.isAlive)")
    // end cell
}

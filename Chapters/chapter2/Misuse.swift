import Multiprocessing
import Notebook

/// `swift run chapter2 misuse`
let misuseCell = Cell("misuse", "Mistakes are errors, not hangs", misuse)

nonisolated func misuse() throws {
    // cell: misuse
    let worker = ChildProcess {}
    attempt("join before start") { try worker.join() }
    attempt("start") { try worker.start() }
    attempt("start again") { try worker.start() }
    attempt("daemon after start") { try worker.setDaemon(true) }
    attempt("join") { try worker.join() }
    attempt("terminate after exit") { try worker.terminate() }
    // end cell
}

import Glibc
import Multiprocessing
import Notebook

// cell: failure
struct Failure: Error, CustomStringConvertible {
    let description: String
}
// end cell

/// `swift run chapter2 exit-codes`
let exitCodesCell = Cell("exit-codes", "How a process ended: its exit code", exitCodes)

nonisolated func exitCodes() throws {
    // cell: exit-codes
    let returns = ChildProcess {}
    let throwsAnError = ChildProcess { throw Failure(description: "the file is not there") }
    let exits = ChildProcess { exitProcess(3) }
    let isTerminated = ChildProcess { while true { pause() } }
    let isKilled = ChildProcess { while true { pause() } }
    let isInterrupted = ChildProcess { while true { pause() } }
    let all = [returns, throwsAnError, exits, isTerminated, isKilled, isInterrupted]

    for process in all { try process.start() }
    try isTerminated.terminate()  // SIGTERM: please stop
    try isKilled.kill()  // SIGKILL: stop now, no questions
    try isInterrupted.interrupt()  // SIGINT: what Ctrl-C sends

    for process in all { try process.join() }
    print("return:      \(returns.exitCode!)")
    print("throw:       \(throwsAnError.exitCode!)")
    print("exit(3):     \(exits.exitCode!)")
    print("terminate(): \(isTerminated.exitCode!)")
    print("kill():      \(isKilled.exitCode!)")
    print("interrupt(): \(isInterrupted.exitCode!)")
    // end cell
}

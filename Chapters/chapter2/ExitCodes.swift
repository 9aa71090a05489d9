import Glibc
import Multiprocessing

// cell: failure
struct Failure: Error, CustomStringConvertible {
    let description: String
}
// end cell

nonisolated func exitCodes() throws {
    // cell: exit-codes
    let returns = ChildProcess {}
    let throwsAnError = ChildProcess { throw Failure(description: "the file is not there") }
    let exits = ChildProcess { exitProcess(3) }
    let isTerminated = ChildProcess { while true { pause() } }
    let isKilled = ChildProcess { while true { pause() } }

    for process in [returns, throwsAnError, exits, isTerminated, isKilled] {
        try process.start()
    }
    try isTerminated.terminate()  // SIGTERM: please stop
    try isKilled.kill()  // SIGKILL: stop now, no questions

    for process in [returns, throwsAnError, exits, isTerminated, isKilled] {
        try process.join()
    }
    print("return:      \(returns.exitCode!)")
    print("throw:       \(throwsAnError.exitCode!)")
    print("exit(3):     \(exits.exitCode!)")
    print("terminate(): \(isTerminated.exitCode!)")
    print("kill():      \(isKilled.exitCode!)")
    // end cell
}

import Glibc
import Multiprocessing

// cell: failure
struct Failure: Error, CustomStringConvertible {
    let description: String
}
// end cell

nonisolated func exitCodes() throws {
    // cell: exit-codes
    let returns = Process { }
    let throwsAnError = Process { throw Failure(description: "the file is not there") }
    let exits = Process { Process.exit(3) }
    let isTerminated = Process { while true { pause() } }
    let isKilled = Process { while true { pause() } }

    for process in [returns, throwsAnError, exits, isTerminated, isKilled] {
        try process.start()
    }
    try isTerminated.terminate()  // SIGTERM: please stop
    try isKilled.kill()           // SIGKILL: stop now, no questions

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

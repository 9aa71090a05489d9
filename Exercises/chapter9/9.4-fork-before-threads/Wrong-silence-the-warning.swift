// Exercise 9.4, a plausible wrong solution: the warning is silenced, but the workers are still
// forked while the ticker holds the log's lock.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    ChildProcess.forkWarningEnabled = false
    let ticker = PosixThread {
        for tick in 0..<20 { Kit.log.write("ticker: tick \(tick)") }
    }
    let workers = (0..<3).map { n in
        ChildProcess(name: "worker \(n)") {
            Kit.log.write("worker \(n): starting")
            Kit.task(n, milliseconds: 100)
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
    ticker.join()
}

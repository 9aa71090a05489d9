// Exercise 9.4: Fork before threads (chapter 9, "Fork with threads: a lock that stays held for ever")
//
// A ticker thread writes 20 lines to the log while main starts three workers, which write to the
// log too. Often a worker never gets past its first line and the program hangs; the runtime prints
// a warning on standard error. Find the bug: no worker may be forked while the ticker runs. The
// ticker must still write its 20 lines.
//
// Check: swift run exercises check 9.4
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let ticker = PosixThread {
        for tick in 0..<20 { Kit.log.write("ticker: tick \(tick)") }  // holds the log's lock per line
    }
    let workers = (0..<3).map { n in
        ChildProcess(name: "worker \(n)") {
            Kit.log.write("worker \(n): starting")  // takes this process's copy of the log's lock
            Kit.task(n, milliseconds: 100)
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
    ticker.join()
}

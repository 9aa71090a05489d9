// Exercise 9.4: Fork before threads — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let workers = (0..<3).map { n in
        ChildProcess(name: "worker \(n)") {
            Kit.log.write("worker \(n): starting")  // nobody held the lock at the fork
            Kit.task(n, milliseconds: 100)
        }
    }
    for worker in workers { try worker.start() }  // every fork before the thread exists
    let ticker = PosixThread {
        for tick in 0..<20 { Kit.log.write("ticker: tick \(tick)") }
    }
    for worker in workers { try worker.join() }
    ticker.join()
}

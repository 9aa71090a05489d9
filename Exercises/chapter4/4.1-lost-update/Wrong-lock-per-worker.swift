// Exercise 4.1, a plausible wrong solution: each worker makes its own lock, so nobody waits for
// anybody.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let counter = Kit.counter  // one number, shared by every process; starts at 0
    let workers = (1...4).map { _ in
        ChildProcess {
            let lock = try Lock()
            for _ in 0..<25_000 {
                lock.withLock { counter.value += 1 }
            }
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
    print("counter = \(counter.value)")
}

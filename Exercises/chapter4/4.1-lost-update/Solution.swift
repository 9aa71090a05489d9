// Exercise 4.1: Fix the lost update — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let counter = Kit.counter  // one number, shared by every process; starts at 0
    let lock = try Lock()  // made before the workers start, so all of them share it
    let workers = (1...4).map { _ in
        ChildProcess {
            for _ in 0..<25_000 {
                lock.withLock { counter.value += 1 }  // nobody else reads or writes meanwhile
            }
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
    print("counter = \(counter.value)")
}

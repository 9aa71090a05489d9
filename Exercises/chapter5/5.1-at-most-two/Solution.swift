// Exercise 5.1: At most two inside — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let slots = try CountingSemaphore(value: 2)  // two places, shared by all workers
    let workers = (0..<6).map { item in
        ChildProcess(name: "worker \(item)") {
            slots.withAcquired {  // waits while both places are taken
                Kit.task(item, milliseconds: 300)
            }
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
}

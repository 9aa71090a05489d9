// Exercise 5.1, a plausible wrong solution: a Lock is safe, but lets in only one at a time.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let lock = try Lock()
    let workers = (0..<6).map { item in
        ChildProcess(name: "worker \(item)") {
            lock.withLock { Kit.task(item, milliseconds: 300) }
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
}

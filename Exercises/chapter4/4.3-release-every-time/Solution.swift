// Exercise 4.3: Release on every path — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let lock = try Lock()
    let workers = (0..<2).map { worker in
        ChildProcess(name: "worker \(worker)") {
            for item in stride(from: worker, to: 12, by: 2) {
                lock.withLock {  // released however the closure ends
                    if item % 4 == 3 { return }  // skip this one
                    Kit.task(item)
                }
            }
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
}

// Exercise 5.3: Wait for the go — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let go = try Event()  // made before the fork: every worker shares it
    let workers = (0..<3).map { item in
        ChildProcess(name: "worker \(item)") {
            go.wait()  // until main sets it
            Kit.useData(item)
        }
    }
    for worker in workers { try worker.start() }
    Kit.prepare()
    go.set()  // wakes every waiting worker
    for worker in workers { try worker.join() }
}

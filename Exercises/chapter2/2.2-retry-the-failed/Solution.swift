// Exercise 2.2: Retry the task that failed — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let workers = (0..<4).map { item in
        ChildProcess(name: "task \(item)") { try Kit.flakyTask(item) }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
    for (item, worker) in workers.enumerated() where worker.exitCode != 0 {
        print("\(worker.name) ended with exit code \(worker.exitCode ?? -1): trying again")
        let again = ChildProcess(name: "task \(item), again") { try Kit.flakyTask(item) }
        try again.start()
        try again.join()
    }
}

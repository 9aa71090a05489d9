// Exercise 2.2, a plausible wrong solution: the retry runs in main, not in a new process.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let workers = (0..<4).map { item in
        ChildProcess(name: "task \(item)") { try Kit.flakyTask(item) }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
    for (item, worker) in workers.enumerated() where worker.exitCode != 0 {
        try Kit.flakyTask(item)
    }
}

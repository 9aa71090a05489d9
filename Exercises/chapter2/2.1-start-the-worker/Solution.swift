// Exercise 2.1: Start the worker — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let worker = ChildProcess(name: "worker") {
        Kit.task(0)  // the work, to be done in the child
    }
    try worker.start()  // forks: the closure runs in the new process
    try worker.join()  // waits for it to end (and reaps it)
    print("main: the worker \(worker.exitStatus.map { "\($0)" } ?? "?")")
}

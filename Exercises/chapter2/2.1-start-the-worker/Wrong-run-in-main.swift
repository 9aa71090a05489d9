// Exercise 2.1, a plausible wrong solution: run() does the work, but in main, not in a child.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let worker = ChildProcess(name: "worker") {
        Kit.task(0)  // the work, to be done in the child
    }
    try worker.run()
    print("main: the worker is \(worker.name)")
}

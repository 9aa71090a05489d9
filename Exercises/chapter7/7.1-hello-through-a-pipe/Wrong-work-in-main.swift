// Exercise 7.1, a plausible wrong solution: main does the work itself; nothing crosses the pipe.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let worker = ChildProcess(name: "worker") {}
    try worker.start()
    Kit.received(Kit.work(1))
    try worker.join()
}

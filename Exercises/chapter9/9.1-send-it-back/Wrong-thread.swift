// Exercise 9.1, a plausible wrong solution: a thread sees the write, because it shares main's memory;
// but the work no longer runs in a process of its own.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    nonisolated(unsafe) var result = 0
    let worker = PosixThread {
        result = Kit.work(0, milliseconds: 50)
    }
    worker.join()
    print("main sees result = \(result)")
    Kit.received(result)
}

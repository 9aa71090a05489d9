// Exercise 9.1: The write main never sees — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let result = try RawSharedValue(0)  // shared memory, made before the fork: one number for both
    let worker = ChildProcess(name: "worker") {
        result.value = Kit.work(0, milliseconds: 50)
    }
    try worker.start()
    try worker.join()
    print("main sees result = \(result.value)")
    Kit.received(result.value)
}

// Exercise 2.2: Retry the task that failed (chapter 2, "How a process ended: its exit code")
//
// Four workers each do one task. Task 2 fails the first time it is tried: its closure throws, and
// a worker whose closure throws ends with exit code 1. Find the workers that failed, by their exit
// code, and run their task again in a new process.
//
// Check: swift run exercises check 2.2
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let workers = (0..<4).map { item in
        ChildProcess(name: "task \(item)") { try Kit.flakyTask(item) }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
    // TODO: for each worker whose exitCode is not 0, run its task again in a new ChildProcess.
}

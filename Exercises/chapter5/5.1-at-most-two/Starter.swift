// Exercise 5.1: At most two inside (chapter 5, "A semaphore lets a few in at a time")
//
// Six workers each do a 300 ms task, all at once. The task may run in at most two processes at a
// time. Let two in at once, never three.
//
// Check: swift run exercises check 5.1
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let workers = (0..<6).map { item in
        ChildProcess(name: "worker \(item)") {
            // TODO: at most two workers may run this task at the same time.
            Kit.task(item, milliseconds: 300)
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
}

// Exercise 4.3: Release on every path (chapter 4, "withLock: acquire and release in one")
//
// Find the bug: two workers take turns with a lock to do the even items. Skipping an odd item
// leaves the loop early, and the program never ends.
//
// Check: swift run exercises check 4.3
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let lock = try Lock()
    let workers = (0..<2).map { worker in
        ChildProcess(name: "worker \(worker)") {
            for item in stride(from: worker, to: 12, by: 2) {
                lock.acquire()
                if item % 4 == 3 { continue }  // skip this one
                Kit.task(item)
                try lock.release()
            }
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
}

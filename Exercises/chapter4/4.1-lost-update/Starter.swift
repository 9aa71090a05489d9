// Exercise 4.1: Fix the lost update (chapter 4, "Without a lock, an update can be lost")
//
// Four processes add one to a shared counter 25,000 times each, so it should end at 100,000. It
// does not: `counter.value += 1` reads, adds and writes back, and another process can write in
// between. Make every update count with a Lock. The check runs the program 5 times.
//
// Check: swift run exercises check 4.1
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let counter = Kit.counter  // one number, shared by every process; starts at 0
    let workers = (1...4).map { _ in
        ChildProcess {
            for _ in 0..<25_000 {
                counter.value += 1  // read, add one, write back
            }
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
    print("counter = \(counter.value)")
}

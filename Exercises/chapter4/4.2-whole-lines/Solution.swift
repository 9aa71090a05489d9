// Exercise 4.2: Keep every line whole — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let lock = try Lock()  // one lock, shared by the three writers
    let writers = (1...3).map { number in
        ChildProcess(name: "writer \(number)") {
            for line in 1...5 {
                lock.withLock {  // a whole line, then the next writer's
                    Kit.writeLine("writer \(number): line \(line) of 5, written in pieces")
                }
            }
        }
    }
    for writer in writers { try writer.start() }
    for writer in writers { try writer.join() }
}

// Exercise 4.2: Keep every line whole (chapter 4, "Without a lock, output can mix")
//
// Three writers each write five lines. Kit.writeLine writes a line in small pieces, and the pieces
// of different writers mix into garbled lines. Let only one writer at a time write a line.
//
// Check: swift run exercises check 4.2
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let writers = (1...3).map { number in
        ChildProcess(name: "writer \(number)") {
            for line in 1...5 {
                Kit.writeLine("writer \(number): line \(line) of 5, written in pieces")
            }
        }
    }
    for writer in writers { try writer.start() }
    for writer in writers { try writer.join() }
}

// Exercise 7.2: Close the unused ends (chapter 7, "End of file: every writer has closed")
//
// The poet sends five results, then ends. main reads until end of file, but end of file never
// comes, and the program never ends. End of file arrives only when every copy of the writing end is
// closed: which copy is still open?
//
// Check: swift run exercises check 7.2
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let (reader, writer) = try Connection<Int>.makePipe(duplex: false)
    let poet = ChildProcess(name: "poet") {
        for line in 0..<5 { try writer.send(Kit.work(line)) }
    }
    try poet.start()
    do {
        while true { Kit.received(try reader.receive()) }
    } catch .endOfFile {
        print("main: end of file")
    }
    try poet.join()
}

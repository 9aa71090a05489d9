// Exercise 7.2: Close the unused ends — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let (reader, writer) = try Connection<Int>.makePipe(duplex: false)
    let poet = ChildProcess(name: "poet") {
        reader.close()  // the poet only writes
        for line in 0..<5 { try writer.send(Kit.work(line)) }
    }  // the poet's copy of `writer` closes when it exits
    try poet.start()
    writer.close()  // main only reads: now the poet holds the last writer
    do {
        while true { Kit.received(try reader.receive()) }
    } catch .endOfFile {
        print("main: end of file")
    }
    try poet.join()
}

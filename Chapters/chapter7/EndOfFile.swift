import Multiprocessing
import Notebook

/// `swift run chapter7 end-of-file`
let endOfFileCell = Cell("end-of-file", "End of file: every writer has closed", endOfFile)

nonisolated func endOfFile() throws {
    // cell: end-of-file
    let (reader, writer) = try Connection<String>.makePipe(duplex: false)
    let poet = ChildProcess(name: "poet") {
        reader.close()
        for line in ["roses are red", "violets are blue", "that is all"] { try writer.send(line) }
    }  // the poet's copy of `writer` closes when the poet exits
    try poet.start()
    writer.close()  // main's copy: now only the poet holds a writer
    do {
        while true { print("main: \(try reader.receive())") }
    } catch .endOfFile {
        print("main: end of file, every copy of the writing end is closed")
    }
    try poet.join()
    // end cell
}

/// `swift run chapter7 forgot-to-close`
let forgotToCloseCell = Cell("forgot-to-close", "Forgetting to close the unused end", forgotToClose)

nonisolated func forgotToClose() throws {
    // cell: forgot-to-close
    let (reader, writer) = try Connection<String>.makePipe(duplex: false)
    let poet = ChildProcess(name: "poet") {
        try writer.send("a one-line poem")
    }
    try poet.start()
    try poet.join()  // the poet has ended and closed its copies...
    print("main: \(try reader.receive())")
    // ...but main still holds `writer`, so no end of file comes: receive() would wait for ever.
    print("anything more within 0.5 s? \(try reader.poll(timeout: .milliseconds(500)))")
    writer.close()
    print("after writer.close(): end of file ready? \(try reader.poll(timeout: .milliseconds(500)))")
    // end cell
}

import Multiprocessing
import Notebook

/// `swift run chapter7 buffers`
let buffersCell = Cell("buffers", "Raw bytes: part of a buffer, into a buffer", buffers)

nonisolated func buffers() throws {
    // cell: buffers
    let (mine, theirs) = try Connection<Int>.makePipe()
    let packer = ChildProcess(name: "packer") {
        // One buffer holds three records; each goes as its own message, straight from the buffer.
        let records = Array("alpha|beta|gamma".utf8)
        try theirs.sendBytes(records, offset: 0, count: 5)  // "alpha"
        try theirs.sendBytes(records, offset: 6, count: 4)  // "beta"
        try theirs.sendBytes(records[11...])  // "gamma": a slice says the same
    }
    try packer.start()

    // Receive into a buffer made once: each message lands where it is told and says how long it is.
    var buffer = [UInt8](repeating: UInt8(ascii: "."), count: 12)
    let first = try mine.receiveBytes(into: &buffer)
    let second = try mine.receiveBytes(into: &buffer, offset: first)
    print("received \(first) + \(second) bytes: \(String(decoding: buffer, as: UTF8.self))")

    // Too short: an error, and the message stays where it was, whole, for the next receive.
    do {
        _ = try mine.receiveBytes(into: &buffer, offset: first + second)
    } catch {
        print("into the last 3 bytes: \(error)")
    }
    print("then receiveBytes(): \(String(decoding: try mine.receiveBytes(), as: UTF8.self))")
    try packer.join()

    // A range outside the buffer: nothing is sent.
    do {
        try mine.sendBytes(buffer, offset: 10, count: 5)
    } catch {
        print("sendBytes(buffer, offset: 10, count: 5): \(error)")
    }
    // end cell
}

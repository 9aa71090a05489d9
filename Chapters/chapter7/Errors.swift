import Multiprocessing
import Notebook

/// `swift run chapter7 errors`
let errorsCell = Cell("errors", "Mistakes and failures are errors you can read", errors)

nonisolated func errors() throws {
    // cell: errors
    // Sending to a pipe nobody reads any more: an error, not death by SIGPIPE.
    let (reader, writer) = try Connection<String>.makePipe(duplex: false)
    reader.close()
    do {
        try writer.send("anyone there?")
    } catch {
        print("send: \(error)")
    }

    // The bytes that arrive are not the promised type: the error says which type, where and why.
    let (numbers, sender) = try Connection<Int>.makePipe()
    try sender.sendBytes(try BinaryEncoder().encode("forty-two"))
    do {
        _ = try numbers.receive()
    } catch {
        print("receive: \(error)")
    }

    // A closed end stays closed.
    numbers.close()
    do {
        _ = try numbers.receive()
    } catch {
        print("receive after close: \(error)")
    }
    // end cell
}

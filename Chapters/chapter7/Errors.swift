import Multiprocessing

nonisolated func errors() throws {
    // cell: errors
    // Sending to a pipe nobody reads any more: an error, not death by SIGPIPE.
    let (reader, writer) = try Pipe<String>.make(duplex: false)
    reader.close()
    do {
        try writer.send("anyone there?")
    } catch {
        print("send: \(error)")
    }

    // The bytes that arrive are not the promised type: the error says which type, where and why.
    let (numbers, sender) = try Pipe<Int>.make()
    try sender.sendBytes(try BinaryEncoder().encode("forty-two"))
    do {
        _ = try numbers.recv()
    } catch {
        print("recv: \(error)")
    }

    // A closed end stays closed.
    numbers.close()
    do {
        _ = try numbers.recv()
    } catch {
        print("recv after close: \(error)")
    }
    // end cell
}

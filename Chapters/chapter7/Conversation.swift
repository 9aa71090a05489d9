import Multiprocessing

nonisolated func conversation() throws {
    // cell: conversation
    let (producerEnd, consumerEnd) = try Pipe<String>.make(duplex: true)
    let consumer = Process(name: "Consumer") {
        while true {
            let word = try consumerEnd.recv()
            if word == "STOP" { break }
            print("Consumer: got \(word), answering \(word.uppercased())")
            try consumerEnd.send(word.uppercased())
        }
    }
    try consumer.start()
    for word in ["apple", "banana", "cherry"] {
        try producerEnd.send(word)
        print("Producer: sent \(word), heard back \(try producerEnd.recv())")
    }
    try producerEnd.send("STOP")
    try consumer.join()
    // end cell
}

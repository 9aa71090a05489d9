import Multiprocessing
import Notebook

/// `swift run chapter7 conversation`
let conversationCell = Cell("conversation", "A conversation: both ends send and receive", conversation)

nonisolated func conversation() throws {
    // cell: conversation
    let (producerEnd, consumerEnd) = try Connection<String>.makePipe(duplex: true)
    let consumer = ChildProcess(name: "Consumer") {
        while true {
            let word = try consumerEnd.receive()
            if word == "STOP" { break }
            print("Consumer: got \(word), answering \(word.uppercased())")
            try consumerEnd.send(word.uppercased())
        }
    }
    try consumer.start()
    for word in ["apple", "banana", "cherry"] {
        try producerEnd.send(word)
        print("Producer: sent \(word), heard back \(try producerEnd.receive())")
    }
    try producerEnd.send("STOP")
    try consumer.join()
    // end cell
}

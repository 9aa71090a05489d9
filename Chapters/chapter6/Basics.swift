import Multiprocessing
import Notebook

/// `swift run chapter6 plain-array`
let plainArrayCell = Cell("plain-array", "A plain array is not shared", plainArray)

nonisolated func plainArray() throws {
    // cell: plain-array
    var inbox: [String] = []
    let child = ChildProcess(name: "child") {
        inbox.append("a letter from the child")
        print("child: my inbox has \(inbox.count) item")
    }
    try child.start()
    try child.join()
    print("main: my inbox has \(inbox.count) items")
    // end cell
}

/// `swift run chapter6 hello`
let helloCell = Cell("hello", "Hello World through a queue", hello)

nonisolated func hello() throws {
    // cell: hello
    let queue = try Queue<String>()
    let greeter = ChildProcess(name: "greeter") {
        try queue.put("Hello World")
    }
    try greeter.start()
    print("main got: \(try queue.get())")
    try greeter.join()
    // end cell
}

/// `swift run chapter6 producer-consumer`
let producerConsumerCell = Cell("producer-consumer", "A producer and a consumer", producerConsumer)

nonisolated func producerConsumer() throws {
    // cell: producer-consumer
    let queue = try Queue<Int>(maxSize: 3)
    let producer = ChildProcess(name: "producer") {
        for number in 1...5 {
            try queue.put(number * number)
            print("producer: put \(number * number)")
        }
    }
    let consumer = ChildProcess(name: "consumer") {
        for _ in 1...5 {
            print("consumer: got \(try queue.get())")
        }
    }
    try producer.start()
    try consumer.start()
    try producer.join()
    try consumer.join()
    print("main: both done; the queue is empty? \(queue.isEmpty)")
    // end cell
}

/// `swift run chapter6 blocking`
let blockingCell = Cell("blocking", "put waits while the queue is full", blocking)

nonisolated func blocking() throws {
    // cell: blocking
    let queue = try Queue<String>(maxSize: 2)
    try queue.put("a")
    try queue.put("b")
    print("main: count \(queue.count), full? \(queue.isFull)")
    let reader = ChildProcess(name: "reader") {
        demoSleep(.seconds(1))
        print("reader: taking an item")  // printed before the get, so before put("c") can return
        _ = try queue.get()
    }
    try reader.start()
    try queue.put("c")  // waits until the reader makes room
    print("main: put c returned; the queue holds \(queue.count)")
    try reader.join()
    print("main: left in the queue: \(try queue.get()), \(try queue.get())")
    // end cell
}

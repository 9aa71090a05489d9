import Multiprocessing
import Notebook

/// `swift run chapter6 exit-before-drain`
let exitBeforeDrainCell = Cell("exit-before-drain", "A producer may exit before anyone reads", exitBeforeDrain)

nonisolated func exitBeforeDrain() throws {
    // cell: exit-before-drain
    let queue = try Queue<[Int]>()
    let producer = ChildProcess(name: "producer") {
        try queue.put(Array(1...50_000))
    }
    try producer.start()
    try producer.join()  // nobody has read the item yet
    print("producer exited with code \(producer.exitCode!); items waiting: \(queue.count)")
    print("main got \(try queue.get().count) numbers")
    // end cell
}

/// `swift run chapter6 mistakes`
let mistakesCell = Cell("mistakes", "Mistakes are errors, at once", mistakes)

nonisolated func mistakes() throws {
    // cell: mistakes
    struct Reading: Codable {
        var value: Double
        func encode(to encoder: any Encoder) throws {
            guard value.isFinite else {
                throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "not a finite number"))
            }
            var container = encoder.singleValueContainer()
            try container.encode(value)
        }
    }
    let readings = try Queue<Reading>()
    attempt("put a reading of 1.5") { try readings.put(Reading(value: 1.5)) }
    attempt("put a reading of infinity") { try readings.put(Reading(value: .infinity)) }
    print("readings in the queue: \(readings.count)")

    let small = try Queue<String>(capacity: 4096)
    attempt("put 10,000 characters into a 4 KiB queue") { try small.put(String(repeating: "x", count: 10_000)) }
    small.close()
    attempt("put after close") { try small.put("late") }
    // end cell
}

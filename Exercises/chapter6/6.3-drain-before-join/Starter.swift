// Exercise 6.3: Drain, then join (chapter 6, "put waits while the queue is full")
//
// Find the bug: the producer puts 40 results into a queue that holds at most 5. main waits for the
// producer to end before it reads anything, and the program never ends.
//
// Check: swift run exercises check 6.3
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let results = try Queue<Int>(maxSize: 5)
    let producer = ChildProcess(name: "producer") {
        for item in 0..<40 { try results.put(Kit.work(item)) }
    }
    try producer.start()
    try producer.join()
    for _ in 0..<40 { Kit.received(try results.get()) }
}

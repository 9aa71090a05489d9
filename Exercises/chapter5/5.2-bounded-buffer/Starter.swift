// Exercise 5.2: The bounded buffer (chapter 5, "Producer and consumer: a bounded buffer")
//
// A producer puts items 1 to 12 into a buffer of 3 places; a slower consumer takes them out. With
// nothing to make them wait, the producer overwrites items not yet taken and the consumer takes
// places not yet filled. Add two semaphores: `empty` (free places, starts at 3) for the producer to
// wait on, `full` (items in the buffer, starts at 0) for the consumer.
//
// Check: swift run exercises check 5.2
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let size = 3
    let buffer = try RawSharedArray<Int>(count: size)
    let positions = try RawSharedArray<Int>(count: 2)  // [next to write, next to read]
    let lock = try Lock()  // guards the buffer and the positions
    // TODO: the two semaphores.

    let producer = ChildProcess(name: "producer") {
        for item in 1...12 {
            // TODO: wait for a free place.
            lock.withLock {
                buffer[positions[0] % size] = item
                positions[0] += 1
            }
            // TODO: say there is one more item.
        }
    }
    let consumer = ChildProcess(name: "consumer") {
        for _ in 1...12 {
            // TODO: wait for an item.
            let item = lock.withLock {
                defer { positions[1] += 1 }
                return buffer[positions[1] % size]
            }
            // TODO: say there is one more free place.
            Kit.task(item, milliseconds: 20)  // slower than the producer
        }
    }
    for process in [producer, consumer] { try process.start() }
    for process in [producer, consumer] { try process.join() }
}

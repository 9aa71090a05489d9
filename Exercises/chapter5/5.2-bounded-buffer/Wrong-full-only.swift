// Exercise 5.2, a plausible wrong solution: the consumer waits for items, but the producer never
// waits for room, so it overwrites items the slow consumer has not taken yet.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let size = 3
    let buffer = try RawSharedArray<Int>(count: size)
    let positions = try RawSharedArray<Int>(count: 2)  // [next to write, next to read]
    let lock = try Lock()  // guards the buffer and the positions
    let full = try CountingSemaphore(value: 0)  // items in the buffer

    let producer = ChildProcess(name: "producer") {
        for item in 1...12 {
            lock.withLock {
                buffer[positions[0] % size] = item
                positions[0] += 1
            }
            try full.release()
        }
    }
    let consumer = ChildProcess(name: "consumer") {
        for _ in 1...12 {
            full.acquire()
            let item = lock.withLock {
                defer { positions[1] += 1 }
                return buffer[positions[1] % size]
            }
            Kit.task(item, milliseconds: 20)
        }
    }
    for process in [producer, consumer] { try process.start() }
    for process in [producer, consumer] { try process.join() }
}

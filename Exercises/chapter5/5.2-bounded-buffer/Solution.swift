// Exercise 5.2: The bounded buffer — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let size = 3
    let buffer = try RawSharedArray<Int>(count: size)
    let positions = try RawSharedArray<Int>(count: 2)  // [next to write, next to read]
    let lock = try Lock()  // guards the buffer and the positions
    let empty = try CountingSemaphore(value: size)  // free places
    let full = try CountingSemaphore(value: 0)  // items in the buffer

    let producer = ChildProcess(name: "producer") {
        for item in 1...12 {
            empty.acquire()  // waits while the buffer is full
            lock.withLock {
                buffer[positions[0] % size] = item
                positions[0] += 1
            }
            try full.release()
        }
    }
    let consumer = ChildProcess(name: "consumer") {
        for _ in 1...12 {
            full.acquire()  // waits while the buffer is empty
            let item = lock.withLock {
                defer { positions[1] += 1 }
                return buffer[positions[1] % size]
            }
            try empty.release()
            Kit.task(item, milliseconds: 20)  // slower than the producer
        }
    }
    for process in [producer, consumer] { try process.start() }
    for process in [producer, consumer] { try process.join() }
}

import Multiprocessing
import Notebook

/// `swift run chapter5 limit`
let limitCell = Cell("limit", "A semaphore lets a few in at a time", limit, figureNames: ["Semaphore A": "slots"])

nonisolated func limit() throws {
    // cell: limit
    let slots = try CountingSemaphore(value: 2)
    let inside = try SharedArray<Int>(count: 2)  // [inside now, most inside at once]
    let twoInside = try Event()  // so that the demo shows the limit even on a busy machine
    let workers = (1...5).map { number in
        ChildProcess(name: "worker \(number)") {
            slots.withAcquired {
                let now = inside.withLock { counts in
                    counts[0] += 1
                    counts[1] = max(counts[1], counts[0])
                    return counts[0]
                }
                print("worker \(number): in")
                if now == 2 { twoInside.set() }
                twoInside.wait()
                demoSleep(.milliseconds(300))
                print("worker \(number): out")
                inside.withLock { $0[0] -= 1 }
            }
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
    print("most workers inside at once: \(inside[1])")
    // end cell
}

/// `swift run chapter5 bounded-buffer`
// The figure names semaphores by who takes their units: `full` is taken by the consumer, `empty` by
// the producer, and "consumer" sorts first.
let boundedBufferCell = Cell(
    "bounded-buffer", "Producer and consumer: a bounded buffer", boundedBuffer,
    figureNames: ["Semaphore A": "full", "Semaphore B": "empty"])

nonisolated func boundedBuffer() throws {
    // cell: bounded-buffer
    let size = 3
    let items = 8
    let buffer = try RawSharedArray<Int>(count: size)
    let empty = try CountingSemaphore(value: size)  // free places in the buffer
    let full = try CountingSemaphore(value: 0)  // items in the buffer
    let lock = try Lock()  // guards the buffer and its two positions
    let positions = try RawSharedArray<Int>(count: 2)  // [next to write, next to read]

    let producer = ChildProcess(name: "producer") {
        for item in 1...items {
            empty.acquire()  // waits while the buffer is full
            lock.withLock {
                buffer[positions[0] % size] = item
                positions[0] += 1
            }
            print("producer: put \(item)")
            try full.release()
        }
    }
    let consumer = ChildProcess(name: "consumer") {
        var received: [Int] = []
        for _ in 1...items {
            full.acquire()  // waits while the buffer is empty
            let item = lock.withLock {
                defer { positions[1] += 1 }
                return buffer[positions[1] % size]
            }
            received.append(item)
            print("consumer: got \(item)")
            try empty.release()
            demoSleep(.milliseconds(100))  // a slow consumer: the producer waits for room
        }
        print("summary: consumed \(received.count), in order: \(received == Array(1...items))")
    }
    try producer.start()
    try consumer.start()
    try producer.join()
    try consumer.join()
    print("summary: produced \(items), buffer empty at the end: \(full.value == 0 && empty.value == size)")
    // end cell
}

/// `swift run chapter5 bounded-semaphore`
let boundedSemaphoreCell = Cell("bounded-semaphore", "BoundedSemaphore catches one release too many", boundedSemaphore)

nonisolated func boundedSemaphore() throws {
    // cell: bounded-semaphore
    let plain = try CountingSemaphore(value: 1)
    plain.acquire()
    try plain.release()
    try plain.release()  // one too many: nobody notices
    print("CountingSemaphore(value: 1) after acquire, release, release: value \(plain.value)")

    let bounded = try BoundedSemaphore(value: 1)
    bounded.acquire()
    try bounded.release()
    do {
        try bounded.release()
    } catch {
        print("BoundedSemaphore(value: 1), the same: \(error)")
    }
    // end cell
}

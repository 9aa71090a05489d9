import Multiprocessing
import Notebook

/// `swift run chapter6 timeouts`
let timeoutsCell = Cell("timeouts", "Timeouts: the full and empty errors", timeouts)

nonisolated func timeouts() throws {
    // cell: timeouts
    let queue = try Queue<Int>(maxSize: 1)
    func timed(_ what: String, _ body: () throws -> Void) {
        let started = ContinuousClock.now
        do {
            try body()
            print("\(what): fine")
        } catch {
            let waited = ContinuousClock.now - started
            print("\(what): \(error), after waiting the timeout? \(waited >= .milliseconds(500))")
        }
    }
    timed("get(timeout: 0.5 s) on an empty queue") { _ = try queue.get(timeout: .milliseconds(500)) }
    timed("put(1, timeout: 0.5 s)") { try queue.put(1, timeout: .milliseconds(500)) }
    timed("put(2, timeout: 0.5 s) on a full queue") { try queue.put(2, timeout: .milliseconds(500)) }
    // end cell
}

/// `swift run chapter6 nowait`
let nowaitCell = Cell("nowait", "tryPut and tryGet never wait", nowait)

nonisolated func nowait() throws {
    // cell: nowait
    let queue = try Queue<String>(maxSize: 2)
    for word in ["one", "two", "three"] {
        if try queue.tryPut(word) {
            print("tryPut(\(word)): done, count \(queue.count)")
        } else {
            print("tryPut(\(word)): the queue is full, so \(word) was not put")
        }
    }
    while let word = try queue.tryGet() {
        print("tryGet: \(word)")
    }
    print("tryGet: nil, the queue is empty")
    // end cell
}

import Multiprocessing
import Notebook

nonisolated func timeouts() throws {
    // cell: timeouts
    let queue = try Queue<Int>(maxSize: 1)
    func attempt(_ what: String, _ body: () throws -> Void) {
        let started = ContinuousClock.now
        do {
            try body()
            print("\(what): fine")
        } catch {
            let waited = ContinuousClock.now - started
            print("\(what): \(error), after waiting the timeout? \(waited >= .milliseconds(500))")
        }
    }
    attempt("get(timeout: 0.5 s) on an empty queue") { _ = try queue.get(timeout: .milliseconds(500)) }
    attempt("put(1, timeout: 0.5 s)") { try queue.put(1, timeout: .milliseconds(500)) }
    attempt("put(2, timeout: 0.5 s) on a full queue") { try queue.put(2, timeout: .milliseconds(500)) }
    // end cell
}

nonisolated func nowait() throws {
    // cell: nowait
    let queue = try Queue<String>(maxSize: 2)
    for word in ["one", "two", "three"] {
        do {
            try queue.putNowait(word)
            print("putNowait(\(word)): done, count \(queue.count)")
        } catch QueueError.full {
            print("putNowait(\(word)): the queue is full, so \(word) was not put")
        }
    }
    while true {
        do {
            print("getNowait: \(try queue.getNowait())")
        } catch QueueError.empty {
            print("getNowait: the queue is empty")
            break
        }
    }
    // end cell
}

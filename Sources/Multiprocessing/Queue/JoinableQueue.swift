// JoinableQueue: Python's multiprocessing.JoinableQueue, a Queue whose items are marked done.

/// A ``Queue`` that also counts unfinished tasks: every item put is one more, every ``taskDone()`` one
/// fewer, and ``join()-60erm`` waits until none is left. A consumer calls `taskDone()` once for each item it
/// took, when it has finished with it; the producer calls `join()` to wait until all the work it
/// handed out has been done.
///
/// `taskDone()` more times than items were taken is an error (Python checks only against items put,
/// so it lets a `taskDone()` slip in for an item nobody has taken yet).
///
/// The count lives in the queue's shared memory beside the ring, and `taskDone` changes it with a
/// single store, so a consumer killed in the middle of `taskDone` leaves it either counted or not,
/// never broken. (A consumer killed between `get` and `taskDone` leaves its task unfinished for good,
/// as in Python: `join()` then waits for ever, or until its timeout.)
///
/// Cost: as `Queue`; `taskDone` is a lock, a store and an unlock (a wake-up call only when the count
/// reaches zero while someone is in `join`).
public final class JoinableQueue<Item: Codable>: Queue<Item>, @unchecked Sendable {
    /// Marks one item taken from the queue as done. When every item put is done, ``join()-60erm`` returns.
    /// Works after `close()` too: finishing work already taken is always allowed. Python's `JoinableQueue.task_done()`.
    /// - Throws: ``QueueError/taskDoneTooManyTimes`` when every item taken so far is already done.
    public func taskDone() throws(QueueError) {
        try ring.taskDone()
    }

    /// Waits until every item put in the queue (by any process) has been taken and marked done with
    /// ``taskDone()``. Returns at once when none is unfinished. Python's `JoinableQueue.join()`.
    public func join() {
        _ = ring.join(until: .never)
    }

    /// Waits at most `timeout` until every item put has been marked done. Returns false when the
    /// timeout passed first. Signals neither shorten nor restart the wait.
    @discardableResult
    public func join(timeout: Duration) -> Bool {
        ring.join(until: Deadline(timeout: timeout))
    }

    /// Items put and not yet marked done, at the moment of the call.
    public var unfinishedTasks: Int { ring.unfinishedTasks }
}

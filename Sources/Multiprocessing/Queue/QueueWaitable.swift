// Queue for waitForAny (Async/WaitForAny.swift): ready when it holds an item.

extension Queue: Waitable {
    /// How ``waitForAny(_:timeout:)`` watches this queue: ready when it holds an item (nothing is
    /// taken; another consumer may take it first, so follow with ``tryGet()``). A queue has no
    /// descriptor: alone it is slept on like a blocked ``get(timeout:)-4ik9f``, beside other objects
    /// it is looked at every 5 ms. Python's `wait` has no queue; one passes `queue._reader`, a pipe.
    /// `waitForAny` throws ``WaitError/queue(index:_:)`` with ``QueueError/closed`` after ``close()``.
    public final var _waitCondition: _WaitCondition {
        _WaitCondition { [ring] () throws(WaitFailure) -> WaitHandle in
            let seen = TailSeen()
            return WaitHandle(
                sleep: { deadline in ring.waitForChange(forItem: true, from: seen.tail, until: deadline) },
                isReady: { () throws(WaitFailure) -> Bool in
                    if ring.isClosed { throw .queue(.closed) }
                    // Read before the count: an item put after it moves the tail, and the sleep returns.
                    seen.tail = ring.tailWord
                    return ring.state.count > 0
                })
        }
    }
}

/// The tail word the last look saw, for the sleep that follows it.
private final class TailSeen {
    var tail: UInt64 = 0
}

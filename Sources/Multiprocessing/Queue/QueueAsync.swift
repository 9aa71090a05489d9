// The async forms of Queue.get, Queue.put and JoinableQueue.join: await without blocking a thread.

// The item type's metatype is a `SendableMetatype` (every type whose conformances are not isolated to
// an actor): items are decoded and encoded on the runtime's threads, not only on the caller's.
extension Queue where Item: SendableMetatype {
    /// Takes the item at the front of the queue, waiting while it is empty, without blocking a
    /// thread: the Swift-concurrency form of ``get(timeout:)`` (Python has none; its `Queue.get`
    /// blocks). In async code, `try await queue.get()` picks this overload.
    ///
    /// Cancellation loses nothing: a get that throws `.cancelled` took no item, and a later `get`
    /// (by anyone) receives it. (If the cancellation comes while the runtime is taking an item for
    /// this get, a matter of microseconds, the get returns that item instead.) Awaiting tasks are
    /// not served in a fixed order.
    ///
    /// - Parameter timeout: nil waits as long as it takes; zero or negative: not at all.
    /// - Throws: ``QueueError/cancelled`` when the awaiting task is cancelled; `.empty` when the
    ///   timeout passed with the queue still empty; `.closed` after ``close()`` (also while waiting);
    ///   `.undecodable` (the item is gone); `.system` when no thread is left for the wait.
    /// - Cost: a ``tryGet()`` on the calling thread (it takes the queue's mutex, held only for copies).
    ///   While the queue is empty, the task is suspended and one of the runtime's waiting threads
    ///   sleeps on the queue for all the tasks awaiting it (at most 8 such threads in the process).
    public final func get(timeout: Duration? = nil) async throws(QueueError) -> Item {
        let outcome = AsyncOutcome<Item, QueueError>()
        let ending = await AsyncWaits.shared.wait(
            on: self, .get, until: Deadline(timeout: timeout),
            readiness: { [ring] in .futex { seen, end in ring.waitForChange(forItem: true, from: seen, until: end) } },
            attempt: { [self] in
                let seen = ring.tailWord
                do throws(QueueError) {
                    guard let item = try tryGet() else { return .notYet(token: seen) }
                    outcome.set(.success(item))
                } catch {
                    outcome.set(.failure(error))
                }
                return .finished
            })
        switch ending {
        case .finished: return try outcome.get()
        case .timedOut: throw .empty
        case .cancelled: throw .cancelled
        case .failed(let error): throw .system(error)
        }
    }

    /// Puts `item` at the end of the queue, waiting while it is full, without blocking a thread:
    /// the Swift-concurrency form of ``put(_:timeout:)`` (Python has none). In async code,
    /// `try await queue.put(x)` picks this overload.
    ///
    /// Cancellation says what happened: a put that throws `.cancelled` put nothing; a put that
    /// returns put the item (even if the cancellation came while the item was being put).
    ///
    /// - Parameters:
    ///   - item: the item to put; it is encoded once, before the wait.
    ///   - timeout: nil waits as long as it takes; zero or negative: not at all.
    /// - Throws: ``QueueError/cancelled`` when the awaiting task is cancelled (nothing was put);
    ///   `.full` when the timeout passed with the queue still full; `.unencodable` and
    ///   `.itemTooLarge` at once; `.closed` after ``close()``; `.system` when no thread is left.
    /// - Cost: the item is encoded once, on the calling thread; then as ``get(timeout:)-4ik9f``.
    public final func put(_ item: Item, timeout: Duration? = nil) async throws(QueueError) {
        if ring.isClosed { throw .closed }
        let payload = try encodedPayload(of: item)
        let size = QueueRing.recordSize(payload: payload.count)
        guard size <= capacity else { throw .itemTooLarge(byteCount: size, capacity: capacity) }
        let outcome = AsyncOutcome<Void, QueueError>()
        let ending = await AsyncWaits.shared.wait(
            on: self, .put, until: Deadline(timeout: timeout),
            readiness: { [ring] in .futex { seen, end in ring.waitForChange(forItem: false, from: seen, until: end) } },
            attempt: { [ring] in
                let seen = ring.headWord
                let result = payload.withUnsafeBytes { bytes in
                    Result { () throws(QueueError) in try ring.put(payload: bytes, until: .now) }
                }
                if case .failure(.full) = result { return .notYet(token: seen) }
                outcome.set(result)
                return .finished
            })
        switch ending {
        case .finished: try outcome.get()
        case .timedOut: throw .full
        case .cancelled: throw .cancelled
        case .failed(let error): throw .system(error)
        }
    }
}

extension JoinableQueue {
    /// Waits until every item put has been marked done with ``taskDone()``, without blocking a thread:
    /// the Swift-concurrency form of ``join()`` (Python has none). In async code,
    /// `try await queue.join()` picks this overload.
    /// - Throws: ``QueueError/cancelled`` when the awaiting task is cancelled; `.system` when no
    ///   thread is left for the wait.
    /// - Cost: as ``Queue/get(timeout:)-4ik9f``: one waiting thread sleeps for every task awaiting it.
    public func join() async throws(QueueError) {
        _ = try await join(until: .never)
    }

    /// Waits at most `timeout` until every item put has been marked done, without blocking a thread:
    /// the Swift-concurrency form of ``join(timeout:)``.
    /// - Returns: true when every item is done; false when the timeout passed first.
    /// - Throws: as ``join()-60erm``.
    @discardableResult
    public func join(timeout: Duration) async throws(QueueError) -> Bool {
        try await join(until: Deadline(timeout: timeout))
    }

    private func join(until deadline: Deadline) async throws(QueueError) -> Bool {
        let ending = await AsyncWaits.shared.wait(
            on: self, .allDone, until: deadline,
            readiness: { [ring] in .futex { _, end in _ = ring.join(until: end) } },
            attempt: { [ring] in ring.join(until: .now) ? .finished : .notYet(token: 0) })
        switch ending {
        case .finished: return true
        case .timedOut: return false
        case .cancelled: throw .cancelled
        case .failed(let error): throw .system(error)
        }
    }
}

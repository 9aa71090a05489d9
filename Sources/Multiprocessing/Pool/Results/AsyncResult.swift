// AsyncResult: the future a pool hands back for work it runs in the background.

/// The result of ``Pool/applyAsync(_:onSuccess:onError:)`` or
/// ``Pool/mapAsync(_:chunkSize:onSuccess:onError:)``, available once a worker has answered.
///
/// Wait for it with ``get(timeout:)-8dshw`` (the value, or the task's error) or ``wait(timeout:)`` (just
/// readiness); poll it with ``isReady``; in async code, `try await result.value` or
/// `try await result.get(timeout:)`. The success or
/// error callback given to `applyAsync` runs before the result becomes ready, on the pool's own
/// thread: keep callbacks short, and never wait for the pool inside one.
///
/// Thread-safe: any thread of the creating process may wait on it, any number of times.
/// Cost: one object with a mutex and a condition variable; waiting costs nothing while it waits.
public final class AsyncResult<Value: Sendable>: @unchecked Sendable {
    private let monitor = LocalMonitor()
    private var outcome: Result<Value, PoolError>?
    /// Set when a task awaits (`value`): only then does `resolve` signal the async waits.
    private var awaited = false
    /// Threads blocked in `get` or `wait`: only then does `resolve` broadcast.
    private var blockedThreads = 0
    private let onSuccess: (@Sendable (Value) -> Void)?
    private let onError: (@Sendable (PoolError) -> Void)?
    /// The pool's I/O thread, where waiting would deadlock.
    private let ioThread: PlainThread?

    init(ioThread: PlainThread?, onSuccess: (@Sendable (Value) -> Void)?, onError: (@Sendable (PoolError) -> Void)?) {
        self.ioThread = ioThread
        self.onSuccess = onSuccess
        self.onError = onError
    }

    /// Runs the callback, then makes the outcome visible and wakes every waiter. Once; only the
    /// pool's thread resolves (or the caller, for an empty map), so there is no race to be first.
    func resolve(_ result: Result<Value, PoolError>) {
        switch result {
        case .success(let value): onSuccess?(value)
        case .failure(let error): onError?(error)
        }
        var broadcast = false
        var signal = false
        monitor.withLock {
            guard outcome == nil else { return }
            outcome = result
            broadcast = blockedThreads > 0
            signal = awaited
        }
        if broadcast { monitor.broadcast() }
        if signal { AsyncWaits.shared.signal(self, .result) }
    }

    /// Waits for the result and returns it, or throws the task's error. Python's `AsyncResult.get(timeout)`.
    ///
    /// - Parameter timeout: nil waits as long as it takes; otherwise throws ``PoolError/timeout(_:)`` after
    ///   about this long (the task goes on; ask again later). Signals do not cut the wait short.
    /// - Throws: the task's ``PoolError`` (`.taskFailed`, `.workerDied`, `.terminated`, …), `.timeout`,
    ///   or `.blockingCallInCallback` when called from a callback.
    public func get(timeout: Duration? = nil) throws(PoolError) -> Value {
        guard let result = try waitForOutcome(timeout: timeout, operation: .getResult) else {
            throw .timeout(timeout ?? .zero)
        }
        return try result.get()
    }

    /// Waits until the result is ready or the timeout passes; true when it is ready.
    /// From a callback (where waiting would deadlock) it does not wait. Python's `AsyncResult.wait(timeout)`.
    @discardableResult
    public func wait(timeout: Duration? = nil) -> Bool {
        ((try? waitForOutcome(timeout: timeout, operation: .wait)) ?? nil) != nil
    }

    /// Whether the worker has answered (or the task failed for good). Never blocks. Python's `AsyncResult.ready()`.
    public var isReady: Bool {
        monitor.withLock { outcome != nil }
    }

    /// Whether the task succeeded. Python's `AsyncResult.successful()`.
    /// - Throws: ``PoolError/notReady`` before the result is ready.
    public var isSuccessful: Bool {
        get throws(PoolError) {
            switch monitor.withLock({ outcome }) {
            case nil: throw .notReady
            case .success?: return true
            case .failure?: return false
            }
        }
    }

    /// The value, awaited without blocking a thread: `try await result.value`, the same as
    /// `try await result.get()`.
    /// - Throws: the task's ``PoolError``; `.cancelled` when the awaiting task is cancelled (the pool's
    ///   task itself goes on).
    public var value: Value {
        get async throws(PoolError) {
            try await get()
        }
    }

    /// Waits for the result without blocking a thread, and returns it or throws the task's error:
    /// the Swift-concurrency form of ``get(timeout:)`` (Python has none). In async code,
    /// `try await result.get()` picks this overload.
    ///
    /// - Parameter timeout: nil waits as long as it takes; otherwise throws ``PoolError/timeout(_:)`` after
    ///   about this long (the task goes on; ask again later).
    /// - Throws: the task's ``PoolError`` (`.taskFailed`, `.workerDied`, `.terminated`, …), `.timeout`,
    ///   or `.cancelled` when the awaiting task is cancelled (the pool's task itself goes on).
    /// - Cost: nothing while it waits: the pool's thread resumes the task when the worker answers
    ///   (with a timeout, the runtime's reactor thread keeps the deadline).
    public func get(timeout: Duration? = nil) async throws(PoolError) -> Value {
        let ready = monitor.withLock { () -> Result<Value, PoolError>? in
            if outcome == nil { awaited = true }
            return outcome
        }
        if let ready { return try ready.get() }
        let ending = await AsyncWaits.shared.wait(
            on: self, .result, until: Deadline(timeout: timeout), readiness: { .signal },
            attempt: { [self] in isReady ? .finished : .notYet(token: 0) })
        switch ending {
        case .finished: return try monitor.withLock { outcome! }.get()
        case .timedOut: throw .timeout(timeout ?? .zero)
        case .cancelled: throw .cancelled
        case .failed(let error): throw .system(error)
        }
    }

    /// The outcome once ready, or nil when the timeout passed first.
    private func waitForOutcome(timeout: Duration?, operation: PoolOperation) throws(PoolError) -> Result<
        Value, PoolError
    >? {
        let deadline = Deadline(timeout: timeout).instant
        return try monitor.withLock { () throws(PoolError) -> Result<Value, PoolError>? in
            if let outcome { return outcome }
            if ioThread?.isCurrent == true { throw .blockingCallInCallback(operation: operation) }
            blockedThreads += 1
            defer { blockedThreads -= 1 }
            while true {
                if let outcome { return outcome }
                if !monitor.wait(until: deadline) { return outcome }
            }
        }
    }
}

/// The outcome of one job, as the I/O thread hands it to whoever waits for it.
extension AsyncResult: PoolJobSink where Value: Decodable {
    func finish(_ job: PoolJob, answer: Frame, worker: String, decoder: DecoderCore) {
        resolve(PoolAnswer.value(answer, worker: worker, decoder: decoder))
    }

    func fail(_ job: PoolJob, _ error: PoolError) {
        resolve(.failure(error))
    }
}

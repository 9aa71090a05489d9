// PoolResults: what imap and imapUnordered hand back, one outcome per input.

/// The outcomes of ``Pool/imap(_:chunkSize:)`` (in input order) or
/// ``Pool/imapUnordered(_:chunkSize:)`` (in completion order), one per input, each delivered as soon as it is known.
///
/// Iterate it with `for outcome in results { let value = try outcome.get() }`: each element is a
/// `Result`, so one failed input does not hide the others. In async code, iterate ``values-swift.property``:
/// `for try await value in results.values { … }`, which stops at the first failure (or throws
/// ``PoolError/cancelled`` when the iterating task is cancelled; no outcome is lost then).
///
/// Single pass: iterating consumes the outcomes (a second loop continues where the first stopped).
/// Thread-safe. Cost: the outcomes are kept until consumed; the inputs were all sent at once.
public final class PoolResults<Output: Sendable>: Sequence, @unchecked Sendable {
    public typealias Element = Result<Output, PoolError>

    private let monitor = LocalMonitor()
    private let ordered: Bool
    /// How many outcomes there will be in all.
    public let count: Int
    /// Ordered: outcome i at slot i. Unordered: outcomes in arrival order.
    private var slots: [Element?]
    private var arrived = 0
    private var consumed = 0
    /// Set when a task iterates `values`: only then does `deliver` signal the async waits.
    private var awaited = false
    private let ioThread: PlainThread?

    init(count: Int, ordered: Bool, ioThread: PlainThread?) {
        self.count = count
        self.ordered = ordered
        self.ioThread = ioThread
        slots = Array(repeating: nil, count: count)
    }

    /// Delivers outcomes for the inputs from `index` on (the I/O thread).
    func deliver(_ outcomes: [Element], from index: Int) {
        let signal = monitor.withLock { () -> Bool in
            for (offset, outcome) in outcomes.enumerated() {
                slots[ordered ? index + offset : arrived + offset] = outcome
            }
            arrived += outcomes.count
            return awaited
        }
        monitor.broadcast()
        if signal { AsyncWaits.shared.signal(self, .result) }
    }

    /// The next outcome, waiting as long as it takes; nil after the last.
    /// From a callback (where waiting would deadlock) it returns `.blockingCallInCallback`.
    /// Python's `next(iterator)` on the iterator that `imap` returns.
    public func next() -> Element? {
        monitor.withLock { () -> Element? in
            while true {
                if consumed == count { return nil }
                if let outcome = takeReady() { return outcome }
                if ioThread?.isCurrent == true {
                    consumed += 1
                    return .failure(.blockingCallInCallback(operation: .iterateResults))
                }
                _ = monitor.wait(until: nil)
            }
        }
    }

    /// With the lock held: the next outcome if it has arrived.
    private func takeReady() -> Element? {
        guard consumed < count, let outcome = slots[consumed] else { return nil }
        slots[consumed] = nil
        consumed += 1
        return outcome
    }

    /// The next outcome without blocking a thread; nil after the last.
    /// - Throws: `PoolError.cancelled` when the awaiting task is cancelled (it took no outcome).
    func nextAsync() async throws(PoolError) -> Element? {
        monitor.withLock { awaited = true }
        let taken = AsyncOutcome<Element?, Never>()
        let ending = await AsyncWaits.shared.wait(
            on: self, .result, until: .never, readiness: { .signal },
            attempt: { [self] in
                monitor.withLock { () -> AsyncAttempt in
                    if consumed == count {
                        taken.set(.success(nil))
                    } else if let outcome = takeReady() {
                        taken.set(.success(outcome))
                    } else {
                        return .notYet(token: 0)
                    }
                    return .finished
                }
            })
        switch ending {
        case .finished: return taken.get()
        case .timedOut, .cancelled: throw .cancelled  // no deadline: only cancellation ends it early
        case .failed(let error): throw .system(error)
        }
    }

    public struct Iterator: IteratorProtocol {
        let results: PoolResults
        public mutating func next() -> Element? { results.next() }
    }

    public func makeIterator() -> Iterator {
        Iterator(results: self)
    }

    /// The values as an async sequence that throws the first failure: `for try await v in r.values`.
    public var values: Values {
        Values(results: self)
    }

    /// The values of a ``PoolResults``, awaited; iteration throws the first failed input's error.
    public struct Values: AsyncSequence, Sendable {
        public typealias Element = Output
        public typealias Failure = PoolError
        let results: PoolResults

        public struct AsyncIterator: AsyncIteratorProtocol {
            let results: PoolResults

            public mutating func next() async throws(PoolError) -> Output? {
                guard let outcome = try await results.nextAsync() else { return nil }
                return try outcome.get()
            }

            public mutating func next(isolation actor: isolated (any Actor)?) async throws(PoolError) -> Output? {
                guard let outcome = try await results.nextAsync() else { return nil }
                return try outcome.get()
            }
        }

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(results: results)
        }
    }
}

extension PoolResults: PoolJobSink where Output: Decodable {
    func finish(_ job: PoolJob, answer: Frame, worker: String, decoder: DecoderCore) {
        deliver(
            PoolAnswer.outcomes(answer, count: job.count, worker: worker, decoder: decoder, as: Output.self),
            from: job.index)
    }

    func fail(_ job: PoolJob, _ error: PoolError) {
        deliver(Array(repeating: .failure(error), count: job.count), from: job.index)
    }
}

// The async forms of Pool.apply, map and starmap: await the workers without blocking a thread.

extension Pool {
    /// Runs the work function on `input` in a worker and awaits its result without blocking a
    /// thread: the Swift-concurrency form of ``apply(_:)`` (Python has none; `apply` blocks). In
    /// async code, `try await pool.apply(x)` picks this overload. It is `applyAsync(x).value`.
    ///
    /// - Throws: as ``apply(_:)``; ``PoolError/cancelled`` when the awaiting task is cancelled: the
    ///   pool's task goes on (its result is dropped).
    /// - Cost: as ``applyAsync(_:onSuccess:onError:)``; nothing while it waits.
    public func apply(_ input: Input) async throws(PoolError) -> Output {
        try await applyAsync(input).value
    }

    /// Runs the work function on every input and awaits the outputs, in input order, without
    /// blocking a thread: the Swift-concurrency form of ``map(_:chunkSize:)``. In async code,
    /// `try await pool.map(xs)` picks this overload.
    ///
    /// - Throws: as ``map(_:chunkSize:)``; ``PoolError/cancelled`` when the awaiting task is
    ///   cancelled: the pool's work goes on (its results are dropped).
    /// - Cost: as ``mapAsync(_:chunkSize:onSuccess:onError:)``; nothing while it waits.
    @inlinable
    public func map<S: Sequence>(_ inputs: S, chunkSize: Int? = nil) async throws(PoolError) -> [Output]
    where S.Element == Input {
        try await mapAsync(
            array: Array(inputs), chunkSize: chunkSize, onSuccess: nil, onError: nil,
            operation: .map
        ).value
    }

    /// `map` over argument tuples, awaited without blocking a thread: the Swift-concurrency form of
    /// ``starmap(_:chunkSize:)``. Throws as the async ``map(_:chunkSize:)-3vn6w``.
    @inlinable
    public func starmap<each Argument: Codable & Sendable>(_ inputs: [(repeat each Argument)], chunkSize: Int? = nil)
        async throws(PoolError) -> [Output] where Input == PoolArguments<repeat each Argument>
    {
        try await mapAsync(
            array: inputs.map { PoolArguments(repeat each $0) }, chunkSize: chunkSize, onSuccess: nil,
            onError: nil, operation: .starmap
        ).value
    }
}

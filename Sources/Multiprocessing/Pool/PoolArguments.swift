// The arguments of a work function that takes several, and the pool initializer and starmap for it.

/// The arguments of a work function that takes several: `Pool { (a: Int, b: String) in … }`
/// makes a pool whose input is `PoolArguments<Int, String>`, fed by `starmap([(1, "x"), …])`.
public struct PoolArguments<each Value: Codable & Sendable>: Codable, Sendable {
    /// The arguments, in the work function's order.
    public var values: (repeat each Value)

    /// Packs arguments for ``Pool/applyAsync(_:onSuccess:onError:)`` or ``Pool/apply(_:)-4syhj`` on a
    /// pool made with a work function of several arguments: `pool.apply(PoolArguments(1, "x"))`.
    /// - Parameter values: one argument per parameter of the work function.
    public init(_ values: repeat each Value) {
        self.values = (repeat each values)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        for value in repeat each values { try container.encode(value) }
    }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        func next<T: Decodable>(_ type: T.Type) throws -> T { try container.decode(T.self) }
        values = (repeat try next((each Value).self))
    }
}

extension Pool {
    /// A pool whose work function takes several arguments (Python's ``starmap(_:chunkSize:)-74k12`` style); feed it with
    /// `starmap`, or `applyAsync(PoolArguments(a, b))`. See the main initializer for the parameters.
    public convenience init<each Argument: Codable & Sendable>(
        processes: Int? = nil,
        maxTasksPerChild: Int? = nil,
        initializer: (@Sendable () throws -> Void)? = nil,
        _ function: @escaping @Sendable (repeat each Argument) throws -> Output
    ) throws(PoolError) where Input == PoolArguments<repeat each Argument> {
        try self.init(processes: processes, maxTasksPerChild: maxTasksPerChild, initializer: initializer) {
            (arguments: PoolArguments<repeat each Argument>) in try function(repeat each arguments.values)
        }
    }

    /// ``map(_:chunkSize:)-s2jj`` over argument tuples: `starmap([(1, "a"), (2, "b")])` calls the work function with
    /// `(1, "a")` and `(2, "b")`; outputs in input order. Throws as `map` does.
    /// Python's `Pool.starmap(func, iterable, chunksize)`.
    @inlinable
    public func starmap<each Argument: Codable & Sendable>(_ inputs: [(repeat each Argument)], chunkSize: Int? = nil)
        throws(PoolError) -> [Output] where Input == PoolArguments<repeat each Argument>
    {
        try map(array: inputs.map { PoolArguments(repeat each $0) }, chunkSize: chunkSize, operation: .starmap)
    }

    /// ``starmap(_:chunkSize:)-74k12`` without waiting. Python's `Pool.starmap_async(func, iterable, chunksize)`.
    @inlinable
    public func starmapAsync<each Argument: Codable & Sendable>(
        _ inputs: [(repeat each Argument)],
        chunkSize: Int? = nil,
        onSuccess: (@Sendable ([Output]) -> Void)? = nil,
        onError: (@Sendable (PoolError) -> Void)? = nil
    ) throws(PoolError) -> AsyncResult<[Output]> where Input == PoolArguments<repeat each Argument> {
        try mapAsync(
            array: inputs.map { PoolArguments(repeat each $0) }, chunkSize: chunkSize, onSuccess: onSuccess,
            onError: onError, operation: .starmapAsync)
    }
}

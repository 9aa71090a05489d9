// Pool: Python's multiprocessing.Pool on fork, with the work function fixed at creation.
//
// What lives in Pool/: the public `Pool` (here, PoolArguments.swift, PoolAsync.swift) and its errors
// (PoolError.swift); Wire/, what the pool's processes say to each other (frame head, answers,
// control messages); Scheduling/, which worker gets which job (plain values: no I/O, clock or locks);
// Engine/, the parent's side (the callers' queue, the I/O thread, the zygote link, each worker's
// channel); Processes/, the zygote, the worker loop and their shared slots; Results/, what a caller
// waits on (AsyncResult, PoolResults, a map's collector).
//
// May depend on: Connection, Process, SharedState, Platform and the codec. Scheduling/ depends on
// nothing but its own Deque and Wire's ProtocolViolation (the error of an answer out of order).

import Glibc

/// A fixed set of worker processes that run one work function on many inputs.
///
/// ```swift
/// let pool = try Pool(processes: 3) { (x: Int) -> Int in x * x }
/// try pool.apply(4)                          // 16, computed in a worker
/// let squares = try pool.map(1...100)        // in input order
/// pool.close(); try pool.join()
/// ```
///
/// The work function is fixed when the pool is created, because the workers are forks: they hold a
/// copy of everything the program had when they were forked, and a closure made later cannot reach
/// them (Python sends a function's *name* and re-imports it). For several kinds of job, make the
/// input an enum. Inputs and outputs travel as bytes (the binary codec), so they must be `Codable`.
///
/// Processes: at creation the pool forks one single-threaded *zygote*, which forks every worker,
/// the first ones and every replacement, so that no worker is ever forked from a multi-threaded
/// program. Workers are named `PoolWorker-1`, `PoolWorker-2`, … (replacements get new numbers;
/// `currentProcess().name` in a worker). Like Python's, they are daemonic: a work function cannot
/// start a ``ChildProcess``. They ignore Ctrl-C (the program decides) and die with the program, even when
/// it is killed.
///
/// Faults are results: a work function that throws fails that input with
/// ``PoolError/taskFailed(worker:pid:type:description:)`` (the error's type and description, the
/// worker's name and pid); a worker that dies mid-task (killed, crashed, `exit`) fails the task it was running with
/// `.workerDied` (naming the signal or exit status), is replaced, and every other task still
/// completes. A zygote that stops answering, or workers that never finish starting, are killed and
/// replaced after 10 s (when three replacements in a row do not help, the pool is `.broken`).
/// Nothing waits for ever.
///
/// Use the pool from the process that created it, from any thread. Callbacks run on the pool's own
/// thread. End it with ``close()`` then ``join()``, or ``terminate()``; a pool released while running
/// is terminated. Cost: creation forks the zygote and returns (the workers are forked in the
/// background, and the first task runs as soon as the first worker is up); creation, one task and
/// close/join take about 1–2 ms with 2 workers on a loaded 2-core machine; a task costs a few µs of
/// overhead in the parent.
public final class Pool<Input: Codable & Sendable, Output: Codable & Sendable>: @unchecked Sendable {
    /// The number of worker processes.
    public let processes: Int
    /// After this many tasks a worker exits and is replaced (nil: never).
    public let maxTasksPerChild: Int?
    private let engine: PoolEngine

    /// Creates the pool: forks the zygote, which forks `processes` workers; returns once the zygote
    /// is forked (the workers start, and run their initializers, in the background: a task waits
    /// for the first one up). Python's `multiprocessing.Pool()`.
    ///
    /// - Parameters:
    ///   - processes: the number of workers; nil means ``cpuCount()``.
    ///   - maxTasksPerChild: replace each worker after this many tasks (a map chunk counts as one);
    ///     nil keeps workers for the pool's life. Useful against leaks in the work function.
    ///   - initializer: runs once in every worker (replacements too) before its first task. If it
    ///     throws or crashes, the pool cannot work: every task fails with `.initializerFailed`.
    ///   - function: the work, run in the workers. It must not use Dispatch or Swift concurrency
    ///     (a forked child cannot); plain code and pthreads are fine.
    /// - Throws: ``PoolError/invalidProcessCount(_:)``, `.invalidMaxTasksPerChild`, or `.system` when
    ///   the zygote, its socket or the pool's thread cannot be created. A worker that cannot be
    ///   forked (the process limit) is not reported here, as the workers start in the background:
    ///   the workers already started and the zygote are killed and reaped (as Python's
    ///   `multiprocessing.Pool()` terminates them before it raises), the tasks queued fail with
    ///   ``PoolError/workerStartFailed(worker:error:)``, and later calls and ``join()`` throw it.
    public convenience init(
        processes: Int? = nil,
        maxTasksPerChild: Int? = nil,
        initializer: (@Sendable () throws -> Void)? = nil,
        _ function: @escaping @Sendable (Input) throws -> Output
    ) throws(PoolError) {
        try self.init(
            processes: processes, maxTasksPerChild: maxTasksPerChild, initializer: initializer, tuning: .standard,
            function)
    }

    /// The public initializer with the pool's timing knobs given (tests shorten the zygote's answer
    /// time or make new workers hang). Throws as the public one does.
    package init(
        processes: Int?,
        maxTasksPerChild: Int?,
        initializer: (@Sendable () throws -> Void)?,
        tuning: PoolTuning,
        _ function: @escaping @Sendable (Input) throws -> Output
    ) throws(PoolError) {
        Tracing.startIfAsked()  // before the pool's thread forks the zygote
        let count = processes ?? cpuCount()
        guard count >= 1 else { throw .invalidProcessCount(count) }
        if let maxTasksPerChild, maxTasksPerChild < 1 { throw .invalidMaxTasksPerChild(maxTasksPerChild) }
        self.processes = count
        self.maxTasksPerChild = maxTasksPerChild
        engine = try PoolEngine(processes: count, maxTasksPerChild: maxTasksPerChild, tuning: tuning) { launch in
            runWorker(launch, initializer: initializer, function: function)
        }
        try engine.start()
    }

    deinit {
        engine.terminate()
    }

    // MARK: One input

    /// Runs the work function on `input` in a worker and waits for its result. Python's `Pool.apply(func, args)`.
    /// - Throws: ``PoolError/taskFailed(worker:pid:type:description:)`` when the work function throws,
    ///   `.workerDied` when the worker died running it, `.notRunning` after ``close()``/``terminate()``,
    ///   `.unencodableInput`, …
    /// - Cost: one round trip to a worker: about 20–50 µs when a worker is idle.
    public func apply(_ input: Input) throws(PoolError) -> Output {
        if engine.thread?.isCurrent == true { throw .blockingCallInCallback(operation: .apply) }
        return try submit(input, onSuccess: nil, onError: nil, operation: .apply).get()
    }

    /// Queues `input` for the workers and returns at once with its ``AsyncResult``.
    /// Python's `Pool.apply_async(func, args, callback, error_callback)`.
    ///
    /// - Parameters:
    ///   - input: the work function's argument; it travels to the worker encoded.
    ///   - onSuccess: runs with the output before the result becomes ready, on the pool's thread.
    ///   - onError: runs with the error before the result becomes ready, on the pool's thread.
    /// - Throws: ``PoolError/notRunning(operation:state:)`` after ``close()``/``terminate()``;
    ///   `.unencodableInput` (nothing is queued then).
    /// - Cost: encoding the input and queueing it: a few µs; the work runs in the background.
    public func applyAsync(
        _ input: Input,
        onSuccess: (@Sendable (Output) -> Void)? = nil,
        onError: (@Sendable (PoolError) -> Void)? = nil
    ) throws(PoolError) -> AsyncResult<Output> {
        try submit(input, onSuccess: onSuccess, onError: onError, operation: .applyAsync)
    }

    private func submit(
        _ input: Input,
        onSuccess: (@Sendable (Output) -> Void)?,
        onError: (@Sendable (PoolError) -> Void)?,
        operation: PoolOperation
    ) throws(PoolError) -> AsyncResult<Output> {
        let result = AsyncResult<Output>(ioThread: engine.thread, onSuccess: onSuccess, onError: onError)
        try engine.submit(try makeJob(.task, input, sink: result, index: 0, count: 1), operation: operation)
        return result
    }

    // MARK: Many inputs

    /// Runs the work function on every input and returns the outputs in input order.
    /// Python's `Pool.map(func, iterable, chunksize)`.
    ///
    /// Inputs travel in chunks of `chunkSize` (one message each way per chunk); the default,
    /// ⌈count / (4 × processes)⌉, keeps every worker busy with little overhead, and holds fewer
    /// inputs when they are large: about 512 KiB of encoded inputs at most (judged by the first
    /// input), so that big items stream through reused buffers instead of fresh multi-MiB ones.
    /// Not fail-fast: it
    /// waits for every chunk, then throws the error of the first input (in input order) that failed.
    /// An empty input returns `[]`.
    /// - Throws: ``PoolError/invalidChunkSize(_:)``, the first input's error (`.taskFailed`, `.workerDied`),
    ///   `.notRunning` after ``close()``/``terminate()``, `.unencodableInput`.
    /// - Cost: the inputs are encoded at once on the calling thread (a `[UInt8]` of 16 KiB or more
    ///   in an input is not copied: it is sent from the array's own memory); then a few µs per
    ///   chunk. Large outputs are decoded on the calling thread while it waits.
    @inlinable
    public func map<S: Sequence>(_ inputs: S, chunkSize: Int? = nil) throws(PoolError) -> [Output]
    where S.Element == Input {
        // Inlined so that the inputs become an array in the caller's specialized code: generic code
        // in this module walks a sequence hundreds of times slower.
        try map(array: Array(inputs), chunkSize: chunkSize, operation: .map)
    }

    @usableFromInline
    func map(array items: [Input], chunkSize: Int?, operation: PoolOperation) throws(PoolError) -> [Output] {
        if engine.thread?.isCurrent == true { throw .blockingCallInCallback(operation: operation) }
        let (size, itemBytes) = try chunking(items, chunkSize: chunkSize)
        if items.isEmpty {
            try engine.checkRunning(operation: operation)
            return []
        }
        // The outputs are decoded here, on the waiting caller's thread (see MapReceiver).
        let receiver = MapReceiver<Output>(count: items.count, chunkSize: size)
        try engine.submit(try chunkJobs(items, size: size, itemBytes: itemBytes, sink: receiver), operation: operation)
        return try receiver.wait()
    }

    /// ``map(_:chunkSize:)-s2jj`` without waiting: the outputs, in input order, arrive in the ``AsyncResult``.
    /// The callbacks run once, when every chunk is done (see ``applyAsync(_:onSuccess:onError:)``).
    /// Python's `Pool.map_async(func, iterable, chunksize)`.
    @inlinable
    public func mapAsync<S: Sequence>(
        _ inputs: S,
        chunkSize: Int? = nil,
        onSuccess: (@Sendable ([Output]) -> Void)? = nil,
        onError: (@Sendable (PoolError) -> Void)? = nil
    ) throws(PoolError) -> AsyncResult<[Output]> where S.Element == Input {
        try mapAsync(
            array: Array(inputs), chunkSize: chunkSize, onSuccess: onSuccess, onError: onError,
            operation: .mapAsync)
    }

    @usableFromInline
    func mapAsync(
        array items: [Input],
        chunkSize: Int?,
        onSuccess: (@Sendable ([Output]) -> Void)?,
        onError: (@Sendable (PoolError) -> Void)?,
        operation: PoolOperation
    ) throws(PoolError) -> AsyncResult<[Output]> {
        let (size, itemBytes) = try chunking(items, chunkSize: chunkSize)
        let result = AsyncResult<[Output]>(ioThread: engine.thread, onSuccess: onSuccess, onError: onError)
        if items.isEmpty {
            try engine.checkRunning(operation: operation)
            result.resolve(.success([]))
            return result
        }
        let collector = MapCollector<Output>(count: items.count, chunkSize: size, result: result)
        try engine.submit(try chunkJobs(items, size: size, itemBytes: itemBytes, sink: collector), operation: operation)
        return result
    }

    /// A map's chunk size, and how many bytes a typical input copies into a frame. The first
    /// input's encoded size sizes the chunks' buffers (no regrowth by copying) and, unless given,
    /// caps the chunk size by bytes.
    private func chunking(_ items: [Input], chunkSize: Int?) throws(PoolError) -> (size: Int, itemBytes: Int) {
        let itemSize = items.count > 1 ? try encodedSize(of: items[0]) : (total: 0, copied: 0)
        let size = chunkSize ?? defaultChunkSize(count: items.count, itemBytes: itemSize.total)
        guard size >= 1 else { throw .invalidChunkSize(size) }
        return (size, itemSize.copied)
    }

    /// A map's inputs as `chunk` jobs of `size` inputs.
    private func chunkJobs(_ items: [Input], size: Int, itemBytes: Int, sink: any PoolJobSink) throws(PoolError)
        -> [PoolJob]
    {
        var jobs: [PoolJob] = []
        jobs.reserveCapacity((items.count + size - 1) / size)
        for start in stride(from: 0, to: items.count, by: size) {
            let end = min(start + size, items.count)
            jobs.append(
                try makeJob(
                    .chunk, Array(items[start..<end]), sink: sink, index: start, count: end - start,
                    itemBytes: itemBytes))
        }
        return jobs
    }

    /// Runs the work function on every input; the outcomes come back in input order, each as soon
    /// as it (and every one before it) is known. Iterate the results while the work goes on.
    /// Python's `Pool.imap(func, iterable, chunksize)`.
    ///
    /// - Parameters:
    ///   - inputs: the work function's arguments, taken all at once (a lazy sequence is read here).
    ///   - chunkSize: inputs per message (default 1); larger chunks cost less per input.
    /// - Throws: ``PoolError/invalidChunkSize(_:)``, `.notRunning`, `.unencodableInput`. A failed input
    ///   is a `.failure` element, not a thrown error.
    @inlinable
    public func imap<S: Sequence>(_ inputs: S, chunkSize: Int = 1) throws(PoolError) -> PoolResults<Output>
    where S.Element == Input {
        try submitForResults(Array(inputs), chunkSize: chunkSize, ordered: true, operation: .imap)
    }

    /// Like ``imap(_:chunkSize:)``, but each outcome comes back as soon as it is known: in completion order.
    /// Python's `Pool.imap_unordered(func, iterable, chunksize)`.
    @inlinable
    public func imapUnordered<S: Sequence>(_ inputs: S, chunkSize: Int = 1) throws(PoolError) -> PoolResults<Output>
    where S.Element == Input {
        try submitForResults(Array(inputs), chunkSize: chunkSize, ordered: false, operation: .imapUnordered)
    }

    // MARK: Ending

    /// Stops new work: later calls that queue work throw `.notRunning`. Queued and running tasks
    /// finish; then the workers exit. Call ``join()`` to wait for that. Never blocks. Python's `Pool.close()`.
    public func close() {
        engine.close()
    }

    /// Waits until every worker (and the zygote) has exited and been reaped: after ``close()``, when
    /// the queued work is done; after ``terminate()``, at once. Python's `Pool.join()`.
    /// - Throws: ``PoolError/workerStartFailed(worker:error:)`` (once all is reaped) when a worker
    ///   could not be forked as the pool started; ``PoolError/joinWhileRunning`` before `close()` or `terminate()`;
    ///   `.blockingCallInCallback` from a callback; `.notOwnedByThisProcess` from a forked child.
    public func join() throws(PoolError) {
        try engine.join()
    }

    /// Stops the pool now: SIGKILLs the workers, fails every queued and running task with
    /// ``PoolError/terminated`` (running their error callbacks), and returns when every process of the
    /// pool has been reaped. Calling it again, or after ``join()``, does nothing. Python's `Pool.terminate()`.
    /// - Cost: milliseconds, however much work was queued.
    public func terminate() {
        engine.terminate()
    }

    // MARK: For tests and demos

    /// The zygote's pid and the living workers' pids (by slot), right now.
    package var processIDs: (zygote: pid_t, workers: [pid_t]) {
        engine.processIDs
    }

    /// How many tasks that a dead worker had received but not started were given to another worker.
    package var requeuedTaskCount: Int {
        engine.requeuedCount
    }

    /// How many unstarted tasks were taken back from a busy worker for an idle one.
    package var stolenTaskCount: Int {
        engine.stolenCount
    }

    /// Waits until every worker has been forked (or the timeout passes); returns their pids.
    package func waitForWorkers(timeout: Duration = .seconds(10)) -> [pid_t] {
        engine.waitForWorkers(count: processes, timeout: timeout)
    }

    // MARK: Internals

    /// The most encoded input bytes a default chunk holds (judged by the first input's size). Chunks
    /// of 8 MiB (1,000 inputs of 64 KiB on 2 workers) cost fresh memory at every step, page faults
    /// being most of the time; 512 KiB ones fit the buffers the pool and its workers keep.
    static var chunkBytes: Int { 512 << 10 }

    private func defaultChunkSize(count: Int, itemBytes: Int) -> Int {
        let perRound = 4 * processes
        let byCount = max(1, (count + perRound - 1) / perRound)
        return itemBytes > 0 ? min(byCount, max(1, Self.chunkBytes / itemBytes)) : byCount
    }

    /// How many bytes `input` encodes to (`total`), and how many of them are copied into a frame
    /// (the rest are attached).
    private func encodedSize(of input: Input) throws(PoolError) -> (total: Int, copied: Int) {
        let encoder = EncoderCore(buffer: ByteBuffer(capacity: 256), maxDepth: BinaryDecoder.defaultMaxDepth)
        encoder.attachmentThreshold = OutgoingFrame.attachmentThreshold
        do throws(CodecError) {
            try encoder.encode(input)
        } catch {
            throw .unencodableInput(error)
        }
        return (encoder.buffer.count + encoder.attachedBytes, encoder.buffer.count)
    }

    /// `itemBytes`: how many bytes a typical input copies into the frame (0: unknown), to size its buffer.
    private func makeJob<T: Encodable>(
        _ kind: FrameKind, _ value: T, sink: any PoolJobSink, index: Int, count: Int, itemBytes: Int = 0
    ) throws(PoolError) -> PoolJob {
        let id = engine.makeJobID()
        let buffer = ByteBuffer(
            capacity: PoolFrameHead.lengthPrefix + PoolFrameHead.size + 32
                + count * max(MemoryLayout<Input>.stride, itemBytes + itemBytes / 16))
        let start = buffer.startFrame(kind, id: id)
        let encoder = EncoderCore(buffer: buffer, maxDepth: BinaryDecoder.defaultMaxDepth)
        encoder.attachmentThreshold = OutgoingFrame.attachmentThreshold
        do throws(CodecError) {
            try encoder.encode(value)
        } catch {
            throw .unencodableInput(error)
        }
        buffer.finishFrame(startedAt: start, attachedBytes: encoder.attachedBytes)
        return PoolJob(
            id: id, frame: buffer, attachments: encoder.attachments, sink: sink, index: index, count: count)
    }

    @usableFromInline
    func submitForResults(_ items: [Input], chunkSize: Int, ordered: Bool, operation: PoolOperation)
        throws(PoolError) -> PoolResults<Output>
    {
        guard chunkSize >= 1 else { throw .invalidChunkSize(chunkSize) }
        let results = PoolResults<Output>(count: items.count, ordered: ordered, ioThread: engine.thread)
        if items.isEmpty {
            try engine.checkRunning(operation: operation)
            return results
        }
        var jobs: [PoolJob] = []
        jobs.reserveCapacity((items.count + chunkSize - 1) / chunkSize)
        for start in stride(from: 0, to: items.count, by: chunkSize) {
            let end = min(start + chunkSize, items.count)
            jobs.append(
                chunkSize == 1
                    ? try makeJob(.task, items[start], sink: results, index: start, count: 1)
                    : try makeJob(.chunk, Array(items[start..<end]), sink: results, index: start, count: end - start))
        }
        try engine.submit(jobs, operation: operation)
        return results
    }
}

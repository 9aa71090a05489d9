// The sink of a blocking map: the pool's thread only copies each chunk's answer aside; the
// caller's thread, which waits anyway, decodes it.
//
// Why: decoding makes the outputs, new memory whose page faults cost more than the copy (a map of
// 64 KiB items spent a quarter of the pool thread's time faulting in its outputs, by perf), and
// the pool's thread, which also feeds every worker, was the map's bottleneck. The copies go into
// at most four buffers that the caller hands back once decoded, so they cost no new memory; while
// none is free, and for small answers (few faults, and a wake-up would cost more), the pool's
// thread decodes as before.

/// Collects a blocking map's chunks; `wait()` decodes them on the caller's thread as they arrive.
/// `finish`/`fail` run on the pool's I/O thread, `wait` on the one caller.
final class MapReceiver<Output: Codable & Sendable>: PoolJobSink, @unchecked Sendable {
    /// A chunk's answer, copied out of the I/O thread's read buffer.
    private struct Arrived {
        let index: Int
        let count: Int
        let bytes: ByteBuffer
        let worker: String
    }

    private let count: Int
    private let chunkSize: Int
    private let monitor = LocalMonitor()
    // Under `monitor`.
    private var arrived: [Arrived] = []
    /// Chunks the I/O thread decoded itself.
    private var decoded: [(index: Int, values: [Output])] = []
    private var spares: [ByteBuffer] = []
    /// Buffers made so far: at most `maxBuffers`, then the I/O thread decodes itself until the
    /// caller gives one back (a caller that falls behind would otherwise cost fresh memory).
    private var buffersMade = 0
    private var remaining: Int
    /// The failure of the first input, in input order.
    private var firstError: (index: Int, error: PoolError)?
    private var waiting = false
    // The caller's.
    private var chunks: [[Output]?]

    /// The most buffers the answers are copied into.
    private static var maxBuffers: Int { 4 }
    /// Smaller answers are decoded on the I/O thread: their outputs cost few page faults.
    private static var handOffBytes: Int { 32 << 10 }

    init(count: Int, chunkSize: Int) {
        self.count = count
        self.chunkSize = chunkSize
        remaining = (count + chunkSize - 1) / chunkSize
        chunks = Array(repeating: nil, count: remaining)
    }

    func finish(_ job: PoolJob, answer: Frame, worker: String, decoder: DecoderCore) {
        if answer.kind == FrameKind.chunkResult.rawValue, let buffer = handOffBuffer(for: answer.body.count) {
            buffer.count = 0
            buffer.append(answer.body)
            chunkDone { arrived.append(Arrived(index: job.index, count: job.count, bytes: buffer, worker: worker)) }
            return
        }
        // Small, a failure, or the caller is busy decoding: decoded here.
        if let values = PoolAnswer.chunkValues(answer, count: job.count, decoder: decoder, as: Output.self) {
            chunkDone(wakingCaller: false) { decoded.append((job.index, values)) }
            return
        }
        let failure = Self.firstFailure(answer, count: job.count, worker: worker, decoder: decoder)
        chunkDone { if let failure { record(failure.error, at: job.index + failure.offset) } }
    }

    /// A buffer to copy an answer of `size` bytes into for the caller, or nil to decode it here.
    private func handOffBuffer(for size: Int) -> ByteBuffer? {
        guard size >= Self.handOffBytes else { return nil }
        return monitor.withLock { () -> ByteBuffer? in
            if let spare = spares.popLast() { return spare }
            guard buffersMade < Self.maxBuffers else { return nil }
            buffersMade += 1
            return ByteBuffer(capacity: size)
        }
    }

    /// The first failed input of a chunk's answer (its offset in the chunk) and its error.
    private static func firstFailure(_ answer: Frame, count: Int, worker: String, decoder: DecoderCore) -> (
        offset: Int, error: PoolError
    )? {
        let outcomes = PoolAnswer.outcomes(answer, count: count, worker: worker, decoder: decoder, as: Output.self)
        for (offset, outcome) in outcomes.enumerated() {
            if case .failure(let error) = outcome { return (offset, error) }
        }
        return nil
    }

    func fail(_ job: PoolJob, _ error: PoolError) {
        chunkDone { record(error, at: job.index) }
    }

    /// With `monitor` held.
    private func record(_ error: PoolError, at index: Int) {
        if firstError == nil || index < firstError!.index { firstError = (index, error) }
    }

    /// `wakingCaller`: the caller has something to decode (else it is woken only by the last chunk:
    /// a wake-up per small chunk would cost more than decoding it here).
    private func chunkDone(wakingCaller: Bool = true, _ change: () -> Void) {
        let wake = monitor.withLock {
            change()
            remaining -= 1
            return waiting && (wakingCaller || remaining == 0)
        }
        if wake { monitor.broadcast() }
    }

    /// Decodes the chunks as they arrive; once every chunk is done, returns the outputs in input
    /// order or throws the error of the first input that failed.
    func wait() throws(PoolError) -> [Output] {
        let decoder = DecoderCore(maxDepth: BinaryDecoder.defaultMaxDepth)
        var done = false
        while !done {
            var batch: [Arrived] = []
            var ready: [(index: Int, values: [Output])] = []
            monitor.withLock {
                while arrived.isEmpty && remaining > 0 {
                    waiting = true
                    _ = monitor.wait(until: nil)
                }
                waiting = false
                swap(&batch, &arrived)
                swap(&ready, &decoded)
                done = remaining == 0
            }
            for chunk in ready { chunks[chunk.index / chunkSize] = chunk.values }
            for item in batch {
                decode(item, decoder: decoder)
                item.bytes.reset(keepingAtMost: 1 << 20)
                monitor.withLock { spares.append(item.bytes) }
            }
        }
        if let firstError = monitor.withLock({ firstError }) { throw firstError.error }
        var all: [Output] = []
        all.reserveCapacity(count)
        for chunk in chunks { all.append(contentsOf: chunk!) }
        return all
    }

    private func decode(_ item: Arrived, decoder: DecoderCore) {
        let answer = Frame(kind: FrameKind.chunkResult.rawValue, id: 0, aux: 0, body: item.bytes.bytes)
        if let values = PoolAnswer.chunkValues(answer, count: item.count, decoder: decoder, as: Output.self) {
            chunks[item.index / chunkSize] = values
        } else if let failure = Self.firstFailure(answer, count: item.count, worker: item.worker, decoder: decoder) {
            monitor.withLock { record(failure.error, at: item.index + failure.offset) }
        }
    }
}

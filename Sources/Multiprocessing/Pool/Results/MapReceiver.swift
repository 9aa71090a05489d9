// The sink of a blocking map: the pool's thread only copies each chunk's answer aside; the
// caller's thread, which waits anyway, decodes it.
//
// Why: decoding makes the outputs, new memory whose page faults cost more than the copy (a map of
// 64 KiB items spent a quarter of the pool thread's time faulting in its outputs, by perf), and
// the pool's thread, which also feeds every worker, was the map's bottleneck. The copies go into
// buffers the caller hands back once decoded, so they cost no new memory after the first few.

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
    private var spares: [ByteBuffer] = []
    private var remaining: Int
    /// The failure of the first input, in input order.
    private var firstError: (index: Int, error: PoolError)?
    private var waiting = false
    // The caller's.
    private var chunks: [[Output]?]

    /// Buffers kept for reuse: enough for the answers in flight on a few workers.
    private static var keptSpares: Int { 8 }

    init(count: Int, chunkSize: Int) {
        self.count = count
        self.chunkSize = chunkSize
        remaining = (count + chunkSize - 1) / chunkSize
        chunks = Array(repeating: nil, count: remaining)
    }

    func finish(_ job: PoolJob, answer: Frame, worker: String, decoder: DecoderCore) {
        guard answer.kind == FrameKind.chunkResult.rawValue else {
            // A failure (rare): decoded here, as a map's collector does.
            let outcomes = PoolAnswer.outcomes(answer, count: job.count, worker: worker, decoder: decoder, as: Output.self)
            let failed = outcomes.firstIndex { if case .failure = $0 { true } else { false } }
            chunkDone {
                if let failed, case .failure(let error) = outcomes[failed] { record(error, at: job.index + failed) }
            }
            return
        }
        let buffer = monitor.withLock { spares.popLast() } ?? ByteBuffer(capacity: answer.body.count)
        buffer.count = 0
        buffer.append(answer.body)
        chunkDone { arrived.append(Arrived(index: job.index, count: job.count, bytes: buffer, worker: worker)) }
    }

    func fail(_ job: PoolJob, _ error: PoolError) {
        chunkDone { record(error, at: job.index) }
    }

    /// With `monitor` held.
    private func record(_ error: PoolError, at index: Int) {
        if firstError == nil || index < firstError!.index { firstError = (index, error) }
    }

    private func chunkDone(_ change: () -> Void) {
        let wake = monitor.withLock {
            change()
            remaining -= 1
            return waiting
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
            monitor.withLock {
                while arrived.isEmpty && remaining > 0 {
                    waiting = true
                    _ = monitor.wait(until: nil)
                }
                waiting = false
                swap(&batch, &arrived)
                done = remaining == 0
            }
            for item in batch { decode(item, decoder: decoder) }
            monitor.withLock {
                for item in batch where spares.count < Self.keptSpares {
                    item.bytes.reset(keepingAtMost: 1 << 20)
                    spares.append(item.bytes)
                }
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
            return
        }
        let outcomes = PoolAnswer.outcomes(
            answer, count: item.count, worker: item.worker, decoder: decoder, as: Output.self)
        if let failed = outcomes.firstIndex(where: { if case .failure = $0 { true } else { false } }),
            case .failure(let error) = outcomes[failed]
        {
            monitor.withLock { record(error, at: item.index + failed) }
        }
    }
}

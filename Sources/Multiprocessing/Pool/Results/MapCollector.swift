// The sink of a map: it gathers the chunks' answers into one result, in input order.

/// Collects a map's chunks; resolves its `AsyncResult` once every chunk is done. I/O thread only.
final class MapCollector<Output: Codable & Sendable>: PoolJobSink {
    private let result: AsyncResult<[Output]>
    private let count: Int
    private let chunkSize: Int
    private var chunks: [[Output]?]
    private var remaining: Int
    /// The failure of the first input, in input order.
    private var firstError: (index: Int, error: PoolError)?

    init(count: Int, chunkSize: Int, result: AsyncResult<[Output]>) {
        self.count = count
        self.chunkSize = chunkSize
        self.result = result
        remaining = (count + chunkSize - 1) / chunkSize
        chunks = Array(repeating: nil, count: remaining)
    }

    func finish(_ job: PoolJob, answer: Frame, worker: String, decoder: DecoderCore) {
        if let values = PoolAnswer.chunkValues(answer, count: job.count, decoder: decoder, as: Output.self) {
            chunks[job.index / chunkSize] = values
        } else {
            let outcomes = PoolAnswer.outcomes(
                answer, count: job.count, worker: worker, decoder: decoder, as: Output.self)
            if let offset = outcomes.firstIndex(where: { if case .failure = $0 { true } else { false } }),
                case .failure(let error) = outcomes[offset]
            {
                record(error, at: job.index + offset)
            }
        }
        chunkDone()
    }

    func fail(_ job: PoolJob, _ error: PoolError) {
        record(error, at: job.index)
        chunkDone()
    }

    private func record(_ error: PoolError, at index: Int) {
        if firstError == nil || index < firstError!.index { firstError = (index, error) }
    }

    private func chunkDone() {
        remaining -= 1
        guard remaining == 0 else { return }
        if let firstError {
            result.resolve(.failure(firstError.error))
            return
        }
        var all: [Output] = []
        all.reserveCapacity(count)
        for chunk in chunks { all.append(contentsOf: chunk!) }
        chunks = []
        result.resolve(.success(all))
    }
}

// What a worker's answer means: the one place that decodes answer frames into values and errors,
// for AsyncResult, PoolResults, a map's collector and the engine. Texts of the errors live here.

/// Decodes a worker's answer frame (`result`, `chunkResult`, `chunkMixed`, `failed`,
/// `initializerFailed`). Cost: one decode of the frame's payload.
enum PoolAnswer {
    /// The value of a one-input job: `result` → its value; anything else → `failure(_:worker:decoder:)`.
    static func value<Value: Decodable>(_ answer: Frame, worker: String, decoder: DecoderCore) -> Result<
        Value, PoolError
    > {
        guard answer.kind == FrameKind.result.rawValue else {
            return .failure(failure(answer, worker: worker, decoder: decoder))
        }
        do throws(CodecError) {
            return .success(try decoder.decode(Value.self, from: answer.body))
        } catch {
            return .failure(.undecodableResult(error))
        }
    }

    /// One outcome per input of a job of `count` inputs (a task is a job of one).
    static func outcomes<Output: Decodable>(
        _ answer: Frame, count: Int, worker: String, decoder: DecoderCore, as type: Output.Type = Output.self
    ) -> [Result<Output, PoolError>] {
        let mismatch = PoolError.broken(reason: "\(worker) answered a chunk of \(count) with a different count")
        switch FrameKind(rawValue: answer.kind) {
        case .result?:
            do throws(CodecError) {
                return [.success(try decoder.decode(Output.self, from: answer.body))]
            } catch {
                return [.failure(.undecodableResult(error))]
            }
        case .chunkResult?:
            do throws(CodecError) {
                let values = try decoder.decode([Output].self, from: answer.body)
                guard values.count == count else { return Array(repeating: .failure(mismatch), count: count) }
                return values.map { .success($0) }
            } catch {
                return Array(repeating: .failure(.undecodableResult(error)), count: count)
            }
        case .chunkMixed?:
            do throws(CodecError) {
                let items = try decoder.decode([ItemOutcome<Output>].self, from: answer.body)
                guard items.count == count else { return Array(repeating: .failure(mismatch), count: count) }
                return items.map { item in
                    switch item {
                    case .success(let value): return .success(value)
                    case .failure(let remote):
                        return .failure(remote.taskFailed(worker: worker))
                    }
                }
            } catch {
                return Array(repeating: .failure(.undecodableResult(error)), count: count)
            }
        default:
            return Array(repeating: .failure(failure(answer, worker: worker, decoder: decoder)), count: count)
        }
    }

    /// The outputs of a chunk every input of which succeeded (`chunkResult` with `count` values);
    /// nil for any other answer (then `outcomes` says what went wrong).
    static func chunkValues<Output: Decodable>(
        _ answer: Frame, count: Int, decoder: DecoderCore, as type: Output.Type = Output.self
    ) -> [Output]? {
        guard answer.kind == FrameKind.chunkResult.rawValue,
            let values = try? decoder.decode([Output].self, from: answer.body), values.count == count
        else { return nil }
        return values
    }

    /// The error a `failed` frame carries (or a protocol error for any other unexpected frame).
    static func failure(_ answer: Frame, worker: String, decoder: DecoderCore) -> PoolError {
        guard answer.kind == FrameKind.failed.rawValue else {
            return .broken(reason: "\(worker) answered with an unexpected frame (kind \(answer.kind))")
        }
        do throws(CodecError) {
            let remote = try decoder.decode(RemoteFailure.self, from: answer.body)
            return remote.taskFailed(worker: worker)
        } catch {
            return .undecodableResult(error)
        }
    }

    /// What an `initializerFailed` (or `failed`) frame reports, nil when its payload does not decode.
    static func remoteFailure(_ answer: Frame, decoder: DecoderCore) -> RemoteFailure? {
        try? decoder.decode(RemoteFailure.self, from: answer.body)
    }
}

extension RemoteFailure {
    /// The caller's error for this failure in the worker named `worker`.
    func taskFailed(worker: String) -> PoolError {
        .taskFailed(worker: worker, pid: pid, type: type, description: description)
    }
}

// A job as the engine carries it: its frame, where its outcome goes, and its claim while in flight.

import Glibc
import Synchronization

/// Receives a job's outcome, on the pool's I/O thread.
protocol PoolJobSink: AnyObject {
    /// The worker answered: a result, chunk result or failure frame.
    func finish(_ job: PoolJob, answer: Frame, worker: String, decoder: DecoderCore)
    /// The job will never be answered.
    func fail(_ job: PoolJob, _ error: PoolError)
}

/// One unit of work: one input (`task`) or a chunk of inputs (`chunk`), encoded as its frame.
final class PoolJob: SchedulableJob, @unchecked Sendable {
    /// Unique in the pool; a job taken back from a worker gets a new one before it is sent again.
    private(set) var id: UInt64
    let frame: ByteBuffer
    /// Large `[UInt8]` inputs sent from their own memory, interleaved with `frame` (see `WorkerChannel`).
    let attachments: [EncoderCore.Attachment]
    let sink: any PoolJobSink
    /// The position of its first input in the caller's inputs, and how many inputs it carries.
    let index: Int
    let count: Int

    init(
        id: UInt64, frame: ByteBuffer, attachments: [EncoderCore.Attachment] = [], sink: any PoolJobSink, index: Int,
        count: Int
    ) {
        self.id = id
        self.frame = frame
        self.attachments = attachments
        self.sink = sink
        self.index = index
        self.count = count
    }

    /// Writes a new id into the job and its frame (I/O thread).
    func renumber(_ newID: UInt64) {
        id = newID
        PoolFrameHead.store(id: newID, at: frame.base + PoolFrameHead.lengthPrefix)
    }

    /// Writes the claim word's position into the frame's aux field, before it is sent (I/O thread).
    func setClaimPosition(_ position: Int) {
        PoolFrameHead.store(aux: UInt64(position), at: frame.base + PoolFrameHead.lengthPrefix)
    }
}

// A worker as the parent's I/O thread sees it on the wire: its socket, what it has sent us not yet
// cut into frames, and what we have for it that its socket has not taken yet. What it was sent and
// owes is the scheduler's (PoolScheduler.Worker).

import Glibc

/// A worker's socket and buffers. I/O thread only.
final class WorkerChannel {
    let slot: Int
    let name: String
    let fd: Int32
    let reader = FrameBuffer()
    /// Bytes for the worker that its socket has not taken yet.
    let output = ByteBuffer(capacity: 64 << 10)
    var outputSent = 0
    /// Why its stream was abandoned, if it sent something that is not a valid answer.
    var violation: String?

    init(slot: Int, name: String, fd: Int32) {
        self.slot = slot
        self.name = name
        self.fd = fd
    }

    var hasPendingOutput: Bool { outputSent < output.count }
}

// A worker as the parent's I/O thread sees it: its socket, what it was sent, what it owes.

import Glibc
import Synchronization

/// A worker as the parent sees it. I/O thread only.
final class WorkerState {
    let slot: Int
    let name: String
    let pid: pid_t
    let fd: Int32
    /// Jobs sent and not yet answered (nor taken back), in the order sent (= the order answered).
    var inflight = Deque<InFlight>()
    /// Claim words not in use by `inflight`: bit i set when position i is free.
    var freePositions = UInt64.max
    /// Jobs sent over its life (for maxTasksPerChild).
    var sent = 0
    let reader = FrameReader()
    /// Bytes for the worker that its socket has not taken yet.
    let output = ByteBuffer(capacity: 64 << 10)
    var outputSent = 0
    var endOfFile = false
    /// Its socket refused a write (it is ending): nothing more is sent to it.
    var writeFailed = false
    /// When its socket ended: from then on the zygote owes us its death report.
    var endedAt: ContinuousClock.Instant?
    /// Until it has reported (in shared memory) that it started: when it was forked.
    var startingSince: ContinuousClock.Instant?
    var stopping = false
    /// Why its stream was abandoned, if it sent something that is not a valid answer.
    var violation: String?

    init(slot: Int, name: String, pid: pid_t, fd: Int32) {
        self.slot = slot
        self.name = name
        self.pid = pid
        self.fd = fd
    }

    var hasPendingOutput: Bool { outputSent < output.count }
}

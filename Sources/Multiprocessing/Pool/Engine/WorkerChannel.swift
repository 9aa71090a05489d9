// A worker as the parent's I/O thread sees it on the wire: its socket, what it has sent us not yet
// cut into frames, and what we have for it that its socket has not taken yet. What it was sent and
// owes is the scheduler's (PoolScheduler.Worker).

import CMultiprocessingShims
import Glibc

/// A worker's socket and buffers. I/O thread only.
final class WorkerChannel {
    let slot: Int
    let name: String
    let fd: Int32
    /// Grows to 1 MiB and keeps it (a map chunk's answer fits: Pool.chunkBytes); only larger
    /// answers are given back after use.
    let reader = FrameBuffer(chunk: 1 << 20, initialCapacity: 64 << 10)
    /// Frames for the worker that its socket has not taken yet, in the order they were assigned:
    /// the jobs' own buffers, sent from where they are (a map chunk is not copied on its way).
    private var frames: [ByteBuffer] = []
    /// The first frame not sent completely, and how much of it was sent.
    private var first = 0
    private var firstSent = 0
    /// Why its stream was abandoned, if it sent something that is not a valid answer.
    var violation: String?

    init(slot: Int, name: String, fd: Int32) {
        self.slot = slot
        self.name = name
        self.fd = fd
    }

    var hasPendingOutput: Bool { first < frames.count }

    /// Queues a whole frame (length prefix, head, payload); it must not change until it is sent,
    /// except for its head's id and aux (a job taken back and given to another worker: this one
    /// then skips it, as its claim word no longer holds the id).
    func enqueue(_ frame: ByteBuffer) {
        frames.append(frame)
    }

    /// Queues a `stop` frame.
    func enqueueStop() {
        let frame = ByteBuffer(capacity: PoolFrameHead.lengthPrefix + PoolFrameHead.size)
        frame.finishFrame(startedAt: frame.startFrame(.stop, id: 0))
        enqueue(frame)
    }

    /// Sends what the socket takes now, up to 64 frames per call (one gathering `sendmsg`).
    /// - Throws: the send's error (EPIPE: the worker is ending); the queue is dropped then.
    func flush() throws(SystemError) {
        while first < frames.count {
            let batch = min(frames.count - first, 64)
            let sent = try withUnsafeTemporaryAllocation(of: iovec.self, capacity: batch) {
                (parts) throws(SystemError) -> Int in
                for index in 0..<batch {
                    let frame = frames[first + index]
                    let skip = index == 0 ? firstSent : 0
                    parts[index] = iovec(iov_base: frame.base + skip, iov_len: frame.count - skip)
                }
                var message = msghdr()
                message.msg_iov = parts.baseAddress
                message.msg_iovlen = batch
                while true {
                    let result = sendmsg(fd, &message, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                    if result >= 0 { return result }
                    let error = mp_errno()
                    if error == EINTR { continue }
                    if error == EAGAIN || error == EWOULDBLOCK { return 0 }
                    frames.removeAll()
                    first = 0
                    firstSent = 0
                    throw SystemError("sendmsg", errno: error)
                }
            }
            if sent == 0 { return }
            var left = sent
            while left > 0 {
                let remaining = frames[first].count - firstSent
                if left < remaining {
                    firstSent += left
                    left = 0
                } else {
                    left -= remaining
                    first += 1
                    firstSent = 0
                }
            }
            // Sent frames are let go (a job keeps its own until it is answered).
            if first == frames.count {
                frames.removeAll(keepingCapacity: true)
                first = 0
            } else if first >= 64 {
                frames.removeFirst(first)
                first = 0
            }
        }
    }
}

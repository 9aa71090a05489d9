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
    /// the jobs' own buffers and attachments, sent from where they are (a map chunk is not copied
    /// on its way).
    private var frames: [OutgoingFrame] = []
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
    func enqueue(_ frame: ByteBuffer, attachments: [EncoderCore.Attachment] = []) {
        frames.append(OutgoingFrame(buffer: frame, attachments: attachments))
    }

    /// Queues a `stop` frame.
    func enqueueStop() {
        let frame = ByteBuffer(capacity: PoolFrameHead.lengthPrefix + PoolFrameHead.size)
        frame.finishFrame(startedAt: frame.startFrame(.stop, id: 0))
        enqueue(frame)
    }

    /// Sends what the socket takes now, up to 64 frames (or `maxParts` pieces) per call: one
    /// gathering `sendmsg`.
    /// - Throws: the send's error (EPIPE: the worker is ending); the queue is dropped then.
    func flush() throws(SystemError) {
        while first < frames.count {
            let sent = try withUnsafeTemporaryAllocation(of: iovec.self, capacity: Self.maxParts) {
                (parts) throws(SystemError) -> Int in
                var used = 0
                var index = first
                while index < frames.count && index - first < 64 && used < Self.maxParts {
                    used = frames[index].describe(from: index == first ? firstSent : 0, into: parts, at: used)
                    index += 1
                }
                var message = msghdr()
                message.msg_iov = parts.baseAddress
                message.msg_iovlen = used
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

    /// The most pieces one `sendmsg` is given (Linux takes up to 1,024).
    private static var maxParts: Int { 256 }
}

/// A frame on its way to a worker: its buffer, with the attached arrays' bytes interleaved where
/// their offsets say.
struct OutgoingFrame {
    let buffer: ByteBuffer
    let attachments: [EncoderCore.Attachment]
    /// The frame's size on the wire.
    let count: Int

    /// A `[UInt8]` of at least this many bytes in an input or an answer is sent from the array's
    /// own memory (a gathering write), not copied into the frame: 1,000 inputs of 64 KiB cost
    /// 64 MiB of fresh memory and its page faults, a quarter of a map's time, before anything was sent.
    static var attachmentThreshold: Int { 16 << 10 }

    init(buffer: ByteBuffer, attachments: [EncoderCore.Attachment]) {
        self.buffer = buffer
        self.attachments = attachments
        count = buffer.count + attachments.reduce(0) { $0 + $1.bytes.count }
    }

    /// Writes the pieces of the frame after its first `skip` bytes into `parts` from `used`, as many
    /// as fit; returns the new number of pieces used.
    func describe(from skip: Int, into parts: UnsafeMutableBufferPointer<iovec>, at used: Int) -> Int {
        var used = used
        var skip = skip
        /// Adds `count` bytes at `base` (after what is left of `skip`); false when `parts` is full.
        func add(_ base: UnsafeRawPointer, _ count: Int) -> Bool {
            if skip >= count {
                skip -= count
                return true
            }
            guard used < parts.count else { return false }
            parts[used] = iovec(iov_base: UnsafeMutableRawPointer(mutating: base + skip), iov_len: count - skip)
            used += 1
            skip = 0
            return true
        }
        var cut = 0
        for attachment in attachments {
            guard add(buffer.base + cut, attachment.offset - cut) else { return used }
            // A native array's storage stays where it is while the array is held, unchanged, here.
            let bytes = attachment.bytes.withUnsafeBytes { $0.baseAddress! }
            guard add(bytes, attachment.bytes.count) else { return used }
            cut = attachment.offset
        }
        _ = add(buffer.base + cut, buffer.count - cut)
        return used
    }
}

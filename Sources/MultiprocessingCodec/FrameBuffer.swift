// FrameBuffer: the one reader of a length-prefixed stream (a 4-byte little-endian length, then
// that many bytes), used by Connection and by the pool's I/O thread. It stores what a read
// brought in a ByteBuffer and cuts it into frames. Its rules are the framing limits of the
// package: the buffer grows only with bytes that actually arrived (at most doubling, and never
// past the frame being read), never to what a header merely claims; a length above the caller's
// maximum is reported, not allocated; memory grown for a large frame is given back afterwards.

/// Bytes read from a stream and not yet consumed, cut into length-prefixed frames.
///
/// Use: `next(maxLength:)`; on `.needs(n)`, read into `space(forFrameOf: n)` and report the count
/// with `didRead(_:)`, then call `next` again (Connection, which gives back growth eagerly after each
/// frame with `releaseGrowth()`). Or: `read(_:)` once per readiness, then `next` until `.needs`
/// (the pool's I/O thread, which gives back growth lazily, at its next read). A frame handed out stays valid until the next call
/// to `space(forFrameOf:)` or `releaseGrowth()`. Not thread-safe: its owner serializes the calls
/// (Connection holds its read lock; the pool's reader belongs to its I/O thread).
package final class FrameBuffer {
    /// The bytes read: `[start, storage.count)` is not consumed yet.
    private let storage: ByteBuffer
    @exclusivity(unchecked) private var start = 0
    /// The usual size: the first read grows the buffer to it, and `releaseGrowth` shrinks back to it.
    private let chunk: Int

    /// An empty buffer. Cost: one allocation of `initialCapacity` bytes (at least 16).
    /// - Parameters:
    ///   - chunk: the usual size, and the most one read takes unless a larger frame is being read.
    ///   - initialCapacity: the first allocation; Connection starts small (16) so that an end that
    ///     never receives costs almost nothing, the pool starts at `chunk`.
    package init(chunk: Int = 64 << 10, initialCapacity: Int? = nil) {
        self.chunk = chunk
        storage = ByteBuffer(capacity: initialCapacity ?? chunk)
    }

    /// Bytes read and not yet consumed.
    package var buffered: Int { storage.count - start }

    /// The bytes read and not yet consumed. Valid until the next call to `space(forFrameOf:)` or
    /// `releaseGrowth()`.
    package var unread: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.base + start, count: buffered) }

    /// The allocated size, for tests that check growth is given back.
    package var capacity: Int { storage.capacity }

    /// What `next(maxLength:)` found at the front of the stream.
    package enum Next {
        /// A whole frame's body (without its length prefix), now consumed.
        case frame(UnsafeRawBufferPointer)
        /// More bytes are needed: the frame at the front takes this many in all, prefix included
        /// (4 while the prefix itself is incomplete).
        case needs(Int)
        /// The frame at the front announces this length, above the maximum. Nothing is consumed:
        /// the stream cannot be trusted after it.
        case tooLarge(Int)
    }

    /// The next whole frame, if it has arrived. Cost: one 4-byte load; no copy, no allocation.
    package func next(maxLength: Int) -> Next {
        let available = storage.count - start
        if available < 4 { return .needs(4) }
        let length = Int(UInt32(littleEndian: storage.base.loadUnaligned(fromByteOffset: start, as: UInt32.self)))
        if length > maxLength { return .tooLarge(length) }
        let needed = 4 + length
        if available < needed { return .needs(needed) }
        let body = UnsafeRawBufferPointer(start: storage.base + start + 4, count: length)
        start += needed
        return .frame(body)
    }

    /// The first `count` buffered bytes, now consumed: the start of a frame that the caller reads
    /// the rest of itself (Connection reads a large frame's body straight into its destination).
    /// Valid until the next call to `space(forFrameOf:)` or `releaseGrowth()`. Cost: none.
    package func consume(_ count: Int) -> UnsafeRawBufferPointer {
        precondition(count >= 0 && count <= storage.count - start, "consumed more than was read")
        let front = UnsafeRawBufferPointer(start: storage.base + start, count: count)
        start += count
        return front
    }

    /// Free space to read more of a frame of `needed` bytes (prefix included) into. Moves the
    /// unread bytes to the front when the frame would not fit where it is, and grows the buffer
    /// only when it is full of bytes that arrived: to at most twice its size, at most to `needed`,
    /// at least to `chunk`. Invalidates frames handed out earlier. Never empty.
    package func space(forFrameOf needed: Int) -> UnsafeMutableRawBufferPointer {
        if start == storage.count {
            start = 0
            storage.count = 0
        } else if start > 0 && (start + needed > storage.capacity || storage.count == storage.capacity) {
            storage.removeFirst(start)
            start = 0
        }
        if storage.count == storage.capacity {
            storage.resize(to: max(chunk, min(needed, storage.capacity * 2)), droppingFirst: start)
            start = 0
        }
        return UnsafeMutableRawBufferPointer(
            start: storage.base + storage.count, count: storage.capacity - storage.count)
    }

    /// The size of the frame at the front, length prefix included, as far as it is known: 4 while
    /// the prefix is incomplete. A corrupt prefix can claim up to 4 GiB; `space(forFrameOf:)` never
    /// allocates more than twice what has arrived, so asking for it costs nothing.
    package var frontFrameSize: Int {
        if storage.count - start < 4 { return 4 }
        return 4 + Int(UInt32(littleEndian: storage.base.loadUnaligned(fromByteOffset: start, as: UInt32.self)))
    }

    /// What one `read(_:)` did.
    package enum ReadResult: Equatable {
        /// Bytes arrived; `filled` when they filled all the space offered (there may be more).
        case data(filled: Bool)
        /// Nothing to read now.
        case wouldBlock
        /// The stream ended (0 bytes read).
        case endOfFile
    }

    /// One read from a non-blocking stream, for a reader that takes frames with `next(maxLength:)`
    /// afterwards: first gives back memory grown for an earlier large frame if everything is
    /// consumed (lazily, so frames handed out stay valid until here), then offers `read` the free
    /// space for the frame at the front and records what it read. `read` returns the bytes read,
    /// 0 at end of file, nil when the read would block.
    /// - Throws: what `read` throws (nothing is recorded then).
    /// - Cost: one call of `read`; a copy or allocation only as `space(forFrameOf:)` describes.
    package func read<Failure: Error>(
        _ read: (UnsafeMutableRawBufferPointer) throws(Failure) -> Int?
    ) throws(Failure) -> ReadResult {
        releaseGrowth()
        let space = space(forFrameOf: frontFrameSize)
        guard let count = try read(space) else { return .wouldBlock }
        if count == 0 { return .endOfFile }
        didRead(count)
        return .data(filled: count == space.count)
    }

    /// Records `count` bytes read into the space `space(forFrameOf:)` returned.
    package func didRead(_ count: Int) {
        precondition(count >= 0 && storage.count + count <= storage.capacity, "read past the space offered")
        storage.count += count
    }

    /// When everything read is consumed: starts again at the front, and gives back memory grown
    /// past `chunk` for a large frame. Invalidates frames handed out earlier. Cost: nothing, or one
    /// allocation of `chunk` bytes after a large frame.
    package func releaseGrowth() {
        guard start == storage.count else { return }
        start = 0
        storage.count = 0
        if storage.capacity > chunk { storage.resize(to: chunk) }
    }
}

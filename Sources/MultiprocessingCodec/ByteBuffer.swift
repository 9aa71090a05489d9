// ByteBuffer: the package's one growable byte buffer. The encoder writes into it, a connection
// and the pool build frames in it, FrameBuffer reads a stream into it.

/// A growable, reusable byte buffer: the encoder writes into it, a connection sends from it.
/// Not thread-safe; each owner uses its own.
package final class ByteBuffer {
    @exclusivity(unchecked) package private(set) var base: UnsafeMutableRawPointer
    /// Bytes written so far.
    @exclusivity(unchecked) package var count = 0
    @exclusivity(unchecked) package private(set) var capacity: Int

    package init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit {
        base.deallocate()
    }

    package var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    package func reserve(_ extra: Int) {
        if extra > capacity &- count { grow(to: count + extra) }
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity = newCapacity &* 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Drops the first `dropped` bytes, moving the rest to the front (a memmove of `count - dropped`).
    package func removeFirst(_ dropped: Int) {
        precondition(dropped >= 0 && dropped <= count, "removeFirst beyond the bytes written")
        let kept = count - dropped
        if kept > 0 && dropped > 0 { base.copyMemory(from: base + dropped, byteCount: kept) }
        count = kept
    }

    /// Reallocates to exactly `newCapacity` bytes (at least 16), keeping the bytes after the first
    /// `dropped` at the front: one copy of what is kept. `newCapacity` must hold them.
    package func resize(to newCapacity: Int, droppingFirst dropped: Int = 0) {
        let kept = count - dropped
        let newCapacity = max(newCapacity, 16)
        precondition(dropped >= 0 && kept >= 0 && kept <= newCapacity, "resize below the bytes kept")
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if kept > 0 { newBase.copyMemory(from: base + dropped, byteCount: kept) }
        base.deallocate()
        base = newBase
        capacity = newCapacity
        count = kept
    }

    /// Empties the buffer; gives memory back when a large message made it grow past `keep` bytes.
    package func reset(keepingAtMost keep: Int = 1 << 20) {
        count = 0
        if capacity > keep {
            base.deallocate()
            capacity = 256
            base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        }
    }

    @inline(__always)
    package func append(byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    /// Appends a tag and a fixed-width value in one reservation.
    @inline(__always)
    package func append<T: BitwiseCopyable>(tag: UInt8, raw value: T) {
        reserve(1 + MemoryLayout<T>.size)
        base.storeBytes(of: tag, toByteOffset: count, as: UInt8.self)
        base.storeBytes(of: value, toByteOffset: count &+ 1, as: T.self)
        count &+= 1 + MemoryLayout<T>.size
    }

    @inline(__always)
    package func append<T: BitwiseCopyable>(raw value: T) {
        reserve(MemoryLayout<T>.size)
        base.storeBytes(of: value, toByteOffset: count, as: T.self)
        count &+= MemoryLayout<T>.size
    }

    package func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count &+= bytes.count
    }

    /// Appends an unsigned LEB128 varint: 7 bits per byte, high bit set on all but the last.
    @inline(__always)
    package func appendVarint(_ value: UInt64) {
        reserve(10)
        var value = value
        var offset = count
        while value >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: offset, as: UInt8.self)
            value >>= 7
            offset &+= 1
        }
        base.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: offset, as: UInt8.self)
        count = offset &+ 1
    }

    package func store(_ value: UInt32, at offset: Int) {
        base.storeBytes(of: value, toByteOffset: offset, as: UInt32.self)
    }
}

// Shared memory for the runtime's own use: one anonymous mapping per object, made before fork,
// holding several fields (words, mutexes, conditions, user data) at planned offsets.
// Lock, CountingSemaphore, Event, Condition, Barrier, SharedValue and Queue are all built on it.
//
// SharedState/ holds the process-shared building blocks below the public objects: SharedMemory and
// SharedLayout (this file), SharedMutex (robust pthread mutex), SharedCondition (futex condition)
// and SpinBackoff (the one spin-then-sleep policy). May depend on Platform/ only.

import Glibc

/// Where one field lives in a `SharedMemory` region: a byte offset, aligned for `T`, and how many
/// consecutive `T`s it holds. Made by `SharedLayout.reserve`.
package struct SharedField<T: ~Copyable>: Sendable {
    package let offset: Int
    package let count: Int
}

/// The plan of a shared region: fields reserved one after another, each aligned for its type.
///
///     var layout = SharedLayout()
///     let state = layout.reserve(Atomic<UInt32>.self)
///     let mutex = SharedMutex.reserve(in: &layout)
///     let memory = try SharedMemory(layout)
package struct SharedLayout: Sendable {
    /// The bytes needed so far.
    package private(set) var byteCount = 0

    package init() {}

    /// Reserves room for `count` values of `T`, aligned for `T`.
    package mutating func reserve<T: ~Copyable>(_ type: T.Type, count: Int = 1) -> SharedField<T> {
        let offset = reserve(bytes: MemoryLayout<T>.stride * count, alignment: MemoryLayout<T>.alignment)
        return SharedField(offset: offset, count: count)
    }

    /// Starts the next field on a fresh cache line, so that fields written by different processes
    /// do not slow each other down (false sharing).
    package mutating func startCacheLine() {
        byteCount = (byteCount + 63) & ~63
    }

    /// Reserves `bytes` bytes aligned to `alignment` (a power of two) and returns their offset.
    package mutating func reserve(bytes: Int, alignment: Int) -> Int {
        let offset = (byteCount + alignment - 1) & ~(alignment - 1)
        byteCount = offset + bytes
        return offset
    }
}

/// A region of anonymous shared memory (`mmap(MAP_SHARED | MAP_ANONYMOUS)`), zero-filled.
///
/// Create it before forking: every child forked afterwards sees the same bytes. It has no name, so
/// nothing can leak: the kernel frees it when the last process that maps it unmaps it or ends.
/// Each process unmaps its own view when its `SharedMemory` object dies; keep the object (or a
/// view that holds it) alive as long as the memory is used.
///
/// Cost: one `mmap` (a few µs) and at least one 4 KiB page.
package final class SharedMemory: @unchecked Sendable {
    /// The first byte of the region (page-aligned).
    package let base: UnsafeMutableRawPointer
    /// The usable size asked for (the mapping is rounded up to whole pages).
    package let byteCount: Int

    /// Maps a fresh zero-filled region big enough for `layout`.
    /// - Throws: `SystemError` from mmap (ENOMEM: out of memory or mappings).
    package convenience init(_ layout: SharedLayout) throws(SystemError) {
        try self.init(byteCount: layout.byteCount)
    }

    /// Maps a fresh zero-filled region of at least `byteCount` bytes.
    /// - Throws: `SystemError` from mmap.
    package init(byteCount: Int) throws(SystemError) {
        self.base = try Sys.mapShared(byteCount: byteCount)
        self.byteCount = byteCount
    }

    deinit {
        Sys.unmap(base, byteCount: byteCount)
    }

    /// A pointer to a field of this region. The memory holds zero bytes until initialized.
    package func pointer<T: ~Copyable>(to field: SharedField<T>) -> UnsafeMutablePointer<T> {
        precondition(field.offset + MemoryLayout<T>.stride * field.count <= byteCount, "field outside the region")
        return (base + field.offset).bindMemory(to: T.self, capacity: field.count)
    }
}

// Spare: a cache of one reusable object (an encoder or decoder core with its buffers), taken
// and given back with atomic exchanges. The one owner of this mechanism: the process-wide spares
// of BinaryEncoder/BinaryDecoder (Codec.swift) and each queue's own spares use it.

import Synchronization

/// Holds at most one spare `Object`, so that a hot path reuses it instead of allocating one per
/// call. Safe from any thread: `take()` and `give(_:)` are atomic exchanges; a thread that finds no
/// spare makes its own, and a second `give` while one is held drops the extra object.
/// Cost: one atomic exchange per take, one compare-exchange per give; no lock.
package final class Spare<Object: AnyObject>: @unchecked Sendable {
    /// The spare object's address, retained; 0 when there is none.
    private let slot = Atomic<UInt>(0)

    package init() {}

    deinit {
        // Releases the spare still held, so a per-object cache (a queue's) does not leak it.
        _ = take()
    }

    /// The spare, now owned by the caller; nil when there is none (or another thread has it).
    package func take() -> Object? {
        let raw = slot.exchange(0, ordering: .acquiring)
        guard let pointer = UnsafeRawPointer(bitPattern: raw) else { return nil }
        return Unmanaged<Object>.fromOpaque(pointer).takeRetainedValue()
    }

    /// Keeps `object` as the spare, unless one is already kept (then `object` is released).
    package func give(_ object: Object) {
        let raw = UInt(bitPattern: Unmanaged.passRetained(object).toOpaque())
        if !slot.compareExchange(expected: 0, desired: raw, ordering: .releasing).exchanged {
            Unmanaged<Object>.fromOpaque(UnsafeRawPointer(bitPattern: raw)!).release()
        }
    }
}

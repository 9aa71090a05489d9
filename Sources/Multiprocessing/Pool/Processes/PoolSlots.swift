// The pool's shared memory: a status word and claim words per worker slot.

import Glibc
import Synchronization

/// The pool's shared memory, made before the zygote is forked: for each worker slot, a status word
/// and 64 claim words.
///
/// Claims make prefetching safe. The parent may send a worker a few jobs ahead, each with a claim
/// word holding its id. Before it runs a job the worker swaps the id for `claimed`; if the swap
/// fails, the parent took the job back (`stolen`) to give it to an idle worker, and the worker skips
/// it. So a job runs at most once, an idle worker never waits while another holds unstarted work,
/// and when a worker dies the parent knows exactly which of its jobs had started.
struct PoolSlots: @unchecked Sendable {
    static let claimsPerSlot = 64
    /// A claim word: the worker has started the job.
    static let claimed = UInt64.max
    /// A claim word: the parent took the job back.
    static let stolen = UInt64.max - 1
    /// The status word while the worker runs the initializer.
    static let initializing: UInt64 = 1

    /// The status word once the worker with this pid is past its own start-up (the runtime's part,
    /// before any job): the parent gives a worker that never gets there a bounded time.
    static func started(_ pid: pid_t) -> UInt64 {
        UInt64(UInt32(bitPattern: pid)) << 2 | 2
    }

    /// Where each slot's words live in the pool's region: the status word on a cache line of its
    /// own, then the claim words from the next cache line (72 words a slot, as the worker and the
    /// parent write different lines).
    struct Fields {
        let status: [SharedField<Atomic<UInt64>>]
        let claims: [SharedField<Atomic<UInt64>>]
    }

    /// Plans one status word and `claimsPerSlot` claim words for each of `processes` slots.
    static func reserve(in layout: inout SharedLayout, processes: Int) -> Fields {
        var status: [SharedField<Atomic<UInt64>>] = []
        var claims: [SharedField<Atomic<UInt64>>] = []
        for _ in 0..<processes {
            layout.startCacheLine()
            status.append(layout.reserve(Atomic<UInt64>.self))
            layout.startCacheLine()
            claims.append(layout.reserve(Atomic<UInt64>.self, count: claimsPerSlot))
        }
        layout.startCacheLine()
        return Fields(status: status, claims: claims)
    }

    /// Keeps the region mapped as long as a copy of the slots (the engine's, a worker's) exists.
    private let memory: SharedMemory
    private let statusWords: [UnsafeMutablePointer<Atomic<UInt64>>]
    private let claimWords: [UnsafeMutablePointer<Atomic<UInt64>>]

    /// The slots of `fields` in `memory` (fresh, zero-filled: every word starts at 0, no job).
    init(initializing fields: Fields, in memory: SharedMemory) {
        self.memory = memory
        statusWords = fields.status.map { memory.pointer(to: $0) }
        claimWords = fields.claims.map { memory.pointer(to: $0) }
    }

    /// The status word of `slot`: 0 until its worker started, then `started(pid)` or `initializing`.
    func status(_ slot: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        statusWords[slot]
    }

    /// The claim word at `position` (0..<claimsPerSlot) of `slot`.
    func claim(_ slot: Int, _ position: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        claimWords[slot] + position
    }
}

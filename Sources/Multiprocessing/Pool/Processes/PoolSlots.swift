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
    /// 1 status word + 64 claims, padded to whole cache lines.
    static let wordsPerSlot = 72
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

    /// Run by each worker just before it reports that it started (tests make it hang, to stand for
    /// a worker stuck at start-up).
    nonisolated(unsafe) package static var startupHook: (() -> Void)?

    let words: UnsafeMutablePointer<Atomic<UInt64>>

    static func byteCount(processes: Int) -> Int {
        processes * wordsPerSlot * MemoryLayout<Atomic<UInt64>>.stride
    }

    func status(_ slot: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        words + slot * Self.wordsPerSlot
    }

    func claim(_ slot: Int, _ position: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        words + slot * Self.wordsPerSlot + 8 + position
    }
}

// Threads: the calling thread's kernel id, plain POSIX threads (the runtime's own machinery never uses
// Dispatch or Swift concurrency), and process-private locks: a mutex a forked child can re-create,
// and a mutex with a condition variable on the monotonic clock.

import CMultiprocessingShims
import Glibc

extension Sys {
    /// The calling thread's kernel thread id, without a system call after the first (cached).
    /// Unique across every process of the machine while the thread lives; equals the pid for the
    /// main thread.
    package static var threadID: pid_t { mp_cached_tid() }
}

/// Runs `body` with `mutex` locked: the lock body that `LocalMutex` and `LocalMonitor` share.
@inline(__always)
private func locked<T, E: Error>(_ mutex: UnsafeMutablePointer<pthread_mutex_t>, _ body: () throws(E) -> T) throws(E)
    -> T
{
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body()
}

/// A pthread mutex private to one process, which a forked child can re-create: the child of a
/// multi-threaded parent may inherit it locked by a thread that does not exist there.
final class LocalMutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try locked(mutex, body)
    }

    /// `withLock` when the mutex is free now; nil, without running `body`, when another thread holds it.
    func withLockIfFree<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Only in a freshly forked child, which has a single thread.
    func reinitializeInChild() {
        pthread_mutex_init(mutex, nil)
    }
}

/// A plain POSIX thread: the runtime's own machinery never uses Dispatch or Swift concurrency.
final class PlainThread: @unchecked Sendable {
    private var thread = pthread_t()
    /// The kernel thread id, known once the thread runs (0 before).
    private let tid = UnsafeMutablePointer<pid_t>.allocate(capacity: 1)
    private let mutex = LocalMutex()
    private var joined = false

    private final class Start {
        let body: () -> Void
        let tid: UnsafeMutablePointer<pid_t>
        init(body: @escaping () -> Void, tid: UnsafeMutablePointer<pid_t>) {
            self.body = body
            self.tid = tid
        }
    }

    /// Starts `body` on a new thread with all signals blocked (they belong to the program's threads).
    /// - Parameter stackSize: also the stack of any process forked from this thread.
    init(stackSize: Int, _ body: @escaping () -> Void) throws(SystemError) {
        tid.initialize(to: 0)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        let start = Unmanaged.passRetained(Start(body: body, tid: tid)).toOpaque()
        // The new thread inherits the creator's mask: block everything around the creation.
        let saved = Sys.signalMask()
        Sys.blockAllSignals()
        let result = pthread_create(
            &thread, &attributes,
            { raw in
                let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
                start.tid.pointee = mp_gettid()
                start.body()
                return nil
            }, start)
        Sys.setSignalMask(saved)
        if result != 0 {
            Unmanaged<Start>.fromOpaque(start).release()
            tid.deallocate()
            throw SystemError("pthread_create", errno: result)
        }
    }

    deinit {
        tid.deallocate()
    }

    /// True on this thread.
    var isCurrent: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Waits for the thread to end. Once; later calls return at once. Never on the thread itself.
    func join() {
        if !markJoined() { pthread_join(thread, nil) }
    }

    /// Lets the thread end on its own (when it cannot be joined, e.g. from itself).
    func detach() {
        if !markJoined() { pthread_detach(thread) }
    }

    /// Marks the thread joined (or detached); true when it already was.
    private func markJoined() -> Bool {
        mutex.withLock {
            defer { joined = true }
            return joined
        }
    }
}

/// A mutex and a condition variable that waits on the monotonic clock, private to one process.
/// One allocation holds both (a pool makes one per result).
final class LocalMonitor: @unchecked Sendable {
    private let memory: UnsafeMutableRawPointer
    private var mutex: UnsafeMutablePointer<pthread_mutex_t> { memory.assumingMemoryBound(to: pthread_mutex_t.self) }
    private var condition: UnsafeMutablePointer<pthread_cond_t> {
        (memory + Self.conditionOffset).assumingMemoryBound(to: pthread_cond_t.self)
    }
    private static let conditionOffset =
        (MemoryLayout<pthread_mutex_t>.size + MemoryLayout<pthread_cond_t>.alignment - 1)
        / MemoryLayout<pthread_cond_t>.alignment * MemoryLayout<pthread_cond_t>.alignment

    init() {
        memory = UnsafeMutableRawPointer.allocate(
            byteCount: Self.conditionOffset + MemoryLayout<pthread_cond_t>.size,
            alignment: max(MemoryLayout<pthread_mutex_t>.alignment, MemoryLayout<pthread_cond_t>.alignment))
        memory.bindMemory(to: pthread_mutex_t.self, capacity: 1)
        pthread_mutex_init(mutex, nil)
        (memory + Self.conditionOffset).bindMemory(to: pthread_cond_t.self, capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        memory.deallocate()
    }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try locked(mutex, body)
    }

    /// With the lock held: waits for a broadcast or the deadline (nil: no deadline). Returns false
    /// once the deadline has passed. Callers re-check their condition in a loop.
    func wait(until deadline: ContinuousClock.Instant?) -> Bool {
        guard let deadline else {
            pthread_cond_wait(condition, mutex)
            return true
        }
        let remaining = ContinuousClock.now.duration(to: deadline)
        if remaining <= .zero { return false }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let (seconds, attoseconds) = remaining.components
        var nanoseconds = Int(now.tv_nsec) + Int(attoseconds / 1_000_000_000)
        var wholeSeconds = Int(now.tv_sec) + Int(clamping: min(seconds, Int64(Int32.max)))
        if nanoseconds >= 1_000_000_000 {
            wholeSeconds += 1
            nanoseconds -= 1_000_000_000
        }
        var until = timespec(tv_sec: wholeSeconds, tv_nsec: nanoseconds)
        _ = pthread_cond_timedwait(condition, mutex, &until)
        return ContinuousClock.now < deadline
    }

    /// Wakes every waiter (call with or without the lock held).
    func broadcast() {
        pthread_cond_broadcast(condition)
    }
}

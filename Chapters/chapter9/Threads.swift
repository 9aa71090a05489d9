// The chapter's small tools: a plain POSIX thread, a plain POSIX mutex, and a stopwatch whose
// readings the book's checker knows not to compare.

import Glibc

/// A POSIX thread that runs `body` and hands back its result: Python's `threading.Thread(target=…)`
/// with `start()` at once. Swift's threads, like these, all run in parallel: Swift has no GIL.
final class PosixThread<Result: Sendable>: @unchecked Sendable {
    private var thread = pthread_t()
    // Written by the thread before it ends, read by `join()` after `pthread_join`: never at once.
    private var result: Result?

    /// Starts a thread that runs `body`.
    init(_ body: @escaping @Sendable () -> Result) {
        let run = Unmanaged.passRetained(Runner { self.result = body() }).toOpaque()
        let status = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<Runner>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, run)
        precondition(status == 0, "pthread_create failed with error \(status)")
    }

    /// Waits until the thread has finished, and returns what `body` returned.
    @discardableResult
    func join() -> Result {
        pthread_join(thread, nil)
        return result!
    }
}

/// The closure a new thread runs, passed to it through `pthread_create`'s one pointer.
private final class Runner {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// A plain `pthread_mutex_t` in this process's own memory (not shared with children): the kind of
/// lock that the C library, the Swift runtime and many programs use inside one process.
final class PosixMutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    /// Takes the mutex if it is free; returns at once either way.
    func tryLock() -> Bool { pthread_mutex_trylock(mutex) == 0 }

    /// Waits at most `timeout` for the mutex; returns whether it got it.
    func lock(timeout: Duration) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)  // pthread_mutex_timedlock takes a wall-clock time
        let nanoseconds = Int(deadline.tv_nsec) + Int(timeout.components.attoseconds / 1_000_000_000)
        deadline.tv_sec += Int(timeout.components.seconds) + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        return pthread_mutex_timedlock(mutex, &deadline) == 0
    }
}

/// Runs `work` and returns its result with the time it took, written `~12.3 ms`. The `~` marks a
/// measured number: the book shows it, and its checker does not compare it (it differs every run).
nonisolated func timed<R>(_ work: () throws -> R) rethrows -> (R, String) {
    let start = ContinuousClock.now
    let result = try work()
    let elapsed = ContinuousClock.now - start
    let milliseconds =
        Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    return (result, "~\((milliseconds * 10).rounded() / 10) ms")
}

// Chapter 9's tools for the exercises: a plain POSIX thread (the chapter's `PosixThread`), jobs that
// crash or never end, and a log whose lock lives in the process's own memory. Every fork is noted
// when a `PosixThread` of the forking process is still running, so the check knows it even when the
// runtime's warning is silenced.

import Glibc
import Synchronization

/// The `PosixThread`s of this process that have not finished yet (a forked child starts at 0: it has
/// none of its parent's threads).
let runningThreads = Atomic<Int>(0)

/// Notes in the evidence each fork made while a `PosixThread` was running (`pthread_atfork`).
func noteForksBesideThreads() {
    pthread_atfork(
        {
            if runningThreads.load(ordering: .sequentiallyConsistent) > 0 {
                EvidenceMap.shared.add(Slot.forksBesideThreads, 1)
            }
        },
        nil,
        { runningThreads.store(0, ordering: .sequentiallyConsistent) })
}

/// A POSIX thread that runs `body` and hands back its result, as in chapter 9: Python's
/// `threading.Thread(target=…)` with `start()` at once. It is a thread of the process that makes it.
public final class PosixThread<Result: Sendable>: @unchecked Sendable {
    private var thread = pthread_t()
    // Written by the thread before it ends, read by `join()` after `pthread_join`: never at once.
    private var result: Result?

    /// Starts a thread that runs `body`.
    public init(_ body: @escaping @Sendable () -> Result) {
        runningThreads.add(1, ordering: .sequentiallyConsistent)  // before it exists: no fork slips by
        let run = Unmanaged.passRetained(
            ThreadBody {
                self.result = body()
                runningThreads.subtract(1, ordering: .sequentiallyConsistent)
            }
        ).toOpaque()
        let status = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, run)
        precondition(status == 0, "pthread_create failed with error \(status)")
    }

    /// Waits until the thread has finished, and returns what `body` returned.
    @discardableResult
    public func join() -> Result {
        pthread_join(thread, nil)
        return result!
    }
}

/// The closure a new thread runs, passed to it through `pthread_create`'s one pointer.
private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// A log on standard output whose lock is a plain `pthread_mutex_t` in the process's own memory:
/// a forked child gets a copy of it, locked if a thread held it at the fork.
public final class Log: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }

    /// Writes `line` under the log's lock, in small pieces 1 ms apart (the lock is held meanwhile).
    public func write(_ line: String) {
        if pthread_mutex_trylock(mutex) != 0 {
            // In a child without threads of its own, nobody can release it: it was copied locked at
            // the fork. Noted, then waited for, as real code would.
            if Kit.inChildProcess { EvidenceMap.shared.add(Slot.logHeldInChild, 1) }
            pthread_mutex_lock(mutex)
        }
        defer { pthread_mutex_unlock(mutex) }
        var bytes = Array(line.utf8)
        bytes.append(10)
        var start = 0
        while start < bytes.count {
            let end = min(start + 4, bytes.count)
            _ = bytes[start..<end].withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
            start = end
            if start < bytes.count { Kit.sleep(milliseconds: 1) }
        }
        if !Kit.inChildProcess { EvidenceMap.shared.add(Slot.logLinesInMain, 1) }
    }
}

extension Kit {
    /// The program's log (chapter 9's fork-with-threads exercise).
    public static let log = Log()

    /// A job with a bug: it crashes the process that runs it, all of its threads with it (it sends
    /// itself SIGKILL, as the kernel does to a process it must stop at once).
    public static func buggyJob() {
        EvidenceMap.shared.store(Slot.crashedPid, Int64(getpid()))
        kill(getpid(), SIGKILL)
    }

    /// A job that never ends: it keeps the processor busy for ever, and never checks for a request
    /// to stop. It does task `item` first.
    public static func runawayJob(_ item: Int = 0) -> Never {
        task(item)
        EvidenceMap.shared.store(Slot.runawayPid, Int64(getpid()))
        var n = 0
        while true {
            n = n &+ 1
            if n % 1_000_000 == 0 { sched_yield() }
        }
    }
}

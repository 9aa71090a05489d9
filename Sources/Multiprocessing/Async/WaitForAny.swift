// waitForAny: Python's multiprocessing.connection.wait, one blocking call that waits for the first
// of several objects to be ready: children (ready once ended), connection ends (a message or end of
// file to receive), queues (an item to get). Each object says how it is watched (`Waitable`, adopted
// beside each type: ProcessWaitable.swift, ConnectionWaitable.swift, QueueWaitable.swift); this file
// waits.
//
// How it sleeps: children and connections have descriptors (a pidfd; the end's descriptor and the
// eventfd its close() signals), so they are watched by one `poll`. A queue has no descriptor: its
// ring is a futex in shared memory. One queue alone is slept on directly (the ring's own bounded
// sleep); a queue beside descriptors, or beside another queue, is looked at every `mixedSlice`,
// while poll watches the descriptors (or the next queue is slept on) in between. A waiting thread
// per queue would answer sooner, but it could not be woken when the call returns and would linger.
//
// Unlike the rest of Async/ this runs in any process, children included (no thread, no reactor),
// and names the error types of the objects it waits for (WaitError).

import Glibc

/// Something ``waitForAny(_:timeout:)`` can wait for: a ``ChildProcess`` (ready once it has ended: the
/// object is its own sentinel), a ``Connection`` end (ready when a message or end of file can be
/// received) or a ``Queue`` (ready when it holds an item). Python's `wait` takes objects with a
/// `fileno()`; here only the runtime's own types conform: the protocol's one requirement (left out
/// of the documentation, as its leading underscore says) returns a value only the runtime can make.
public protocol Waitable: AnyObject, Sendable {
    /// How `waitForAny` watches this object. An implementation detail of the runtime's types.
    var _waitCondition: _WaitCondition { get }
}

/// How `waitForAny` watches one ``Waitable`` object: what it takes for the wait (a duplicated
/// pidfd, a call in progress on a connection end), how it looks whether the object is ready, and
/// what it sleeps on. An implementation detail: it has no public initializer, so only the runtime's
/// types make one. Made and used on the calling thread, so it need not be `Sendable`.
public struct _WaitCondition {
    /// Takes what the wait needs, or says why the object cannot be waited for.
    let begin: () throws(WaitFailure) -> WaitHandle

    init(begin: @escaping () throws(WaitFailure) -> WaitHandle) {
        self.begin = begin
    }
}

/// Why one object cannot be waited for: its own error, before `waitForAny` adds its index.
enum WaitFailure: Error {
    case process(ProcessError)
    case connection(ConnectionError)
    case queue(QueueError)
}

/// One object during one `waitForAny` call.
struct WaitHandle {
    /// Descriptors whose readability means the object may be ready (`isReady` says).
    var descriptors: [Int32] = []
    /// For an object without a descriptor: sleeps until it may have changed since the last
    /// `isReady`, or the deadline passes (a bounded slice at most). Nil with descriptors, and for an
    /// object that can only be looked at again later.
    var sleep: ((Deadline) -> Void)?
    /// Whether the object is ready now; never waits.
    var isReady: () throws(WaitFailure) -> Bool
    /// Gives back what `begin` took.
    var end: () -> Void = {}
}

/// Why ``waitForAny(_:timeout:)`` failed: the object at `index` cannot be waited for (its own
/// error says why, as its own calls would), or the system failed.
public enum WaitError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A child not started, closed, or not started by this process (`operation` is `.wait`).
    case process(index: Int, ProcessError)
    /// A connection end that is closed (also by another thread during the wait), or send-only.
    case connection(index: Int, ConnectionError)
    /// A queue closed in this process (also by another thread during the wait).
    case queue(index: Int, QueueError)
    /// `poll` failed.
    case system(SystemError)

    init(_ failure: WaitFailure, index: Int) {
        switch failure {
        case .process(let error): self = .process(index: index, error)
        case .connection(let error): self = .connection(index: index, error)
        case .queue(let error): self = .queue(index: index, error)
        }
    }

    public var description: String {
        switch self {
        case .process(let index, let error): return "cannot wait for object \(index): \(error)"
        case .connection(let index, let error): return "cannot wait for object \(index): \(error)"
        case .queue(let index, let error): return "cannot wait for object \(index): \(error)"
        case .system(let error): return error.description
        }
    }
}

/// How often a queue is looked at while descriptors (or another queue) are waited for.
private let mixedSlice = Duration.milliseconds(5)

/// Waits until at least one of `objects` is ready, or until `timeout` has passed, and returns the
/// indices of the ready ones in `objects`, in ascending order (empty: the timeout passed first).
/// Python's `multiprocessing.connection.wait(object_list, timeout)`, which returns the objects.
///
/// Ready means: a ``ChildProcess`` has ended (it is reaped, as ``ChildProcess/isAlive`` would);
/// a ``Connection`` end has a message or end of file to receive (as its ``Connection/poll()``
/// says); a ``Queue`` holds an item. Nothing is received or taken: ready is a fact of that
/// moment, and another consumer of the same queue (or reader of the same end) may take the item
/// first, so follow it with ``Queue/tryGet()`` rather than a blocking get when others consume too.
/// An empty list returns an empty result at once (nothing could ever become ready).
///
/// ```swift
/// let everything: [any Waitable] = [results] + workers
/// for index in try waitForAny(everything, timeout: .seconds(5)) { ... }
/// ```
///
/// - Parameters:
///   - objects: children, connection ends and queues, in any mix; the same object may appear twice.
///   - timeout: nil waits as long as it takes; zero or negative looks once.
/// - Throws: ``WaitError/process(index:_:)`` for a child that was not started, is closed, or was
///   not started by this process; `.connection` for an end that is closed (also by another thread
///   meanwhile) or send-only; `.queue` for a queue closed in this process; `.system` if `poll` fails.
/// - Cost: a look at each object (a `waitpid` with WNOHANG per child, a `poll` per end, a few
///   memory reads per queue), a duplicated pidfd per child, then one `poll` over all the
///   descriptors until one is ready. Queues: one alone is slept on until it changes; beside other
///   objects each is looked at every 5 ms, so a queue item may be noticed up to 5 ms late.
public func waitForAny(_ objects: [any Waitable], timeout: Duration? = nil) throws(WaitError) -> [Int] {
    let deadline = Deadline(timeout: timeout)
    var handles: [WaitHandle] = []
    handles.reserveCapacity(objects.count)
    defer { for handle in handles { handle.end() } }
    for (index, object) in objects.enumerated() {
        do throws(WaitFailure) {
            handles.append(try object._waitCondition.begin())
        } catch {
            throw WaitError(error, index: index)
        }
    }
    var entries = handles.flatMap(\.descriptors).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    let sleepers = handles.indices.filter { handles[$0].sleep != nil }
    let onlyLooked = handles.contains { $0.descriptors.isEmpty && $0.sleep == nil }
    var turn = 0
    while true {
        var ready: [Int] = []
        for (index, handle) in handles.enumerated() {
            do throws(WaitFailure) {
                if try handle.isReady() { ready.append(index) }
            } catch {
                throw WaitError(error, index: index)
            }
        }
        if !ready.isEmpty || deadline.hasPassed || handles.isEmpty { return ready }
        do throws(SystemError) {
            if sleepers.isEmpty && !onlyLooked {
                _ = try Sys.pollAll(&entries, deadline: deadline.instant)
            } else if entries.isEmpty && !onlyLooked && sleepers.count == 1 {
                handles[sleepers[0]].sleep!(deadline)
            } else {
                let slice = deadline.earlier(Deadline.now.adding(mixedSlice))
                if !entries.isEmpty {
                    _ = try Sys.pollAll(&entries, deadline: slice.instant)
                } else if !sleepers.isEmpty {
                    handles[sleepers[turn % sleepers.count]].sleep!(slice)
                    turn += 1
                } else if let remaining = slice.remaining {
                    Sys.sleep(for: remaining)
                }
            }
        } catch {
            throw .system(error)
        }
    }
}

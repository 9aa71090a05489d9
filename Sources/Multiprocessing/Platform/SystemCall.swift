// The platform layer: every Linux call of the runtime goes through `Sys`, in the files of this folder,
// one per kernel concept: SystemCall (this file: errors and the one system-call helper), Descriptors,
// Polling, Processes, Signals, Memory, Futex, Threads, Clock, ForkDetection, ForkGate, Stdio.
//
// May depend on: Glibc and CMultiprocessingShims only. Everything else in the runtime may depend on it;
// nothing here knows about connections, queues, pools or the codec.
//
// How a call is made: `Sys.call` (non-blocking reads and writes: EINTR retried, EAGAIN is `.wouldBlock`,
// end of file is `.endOfFile`) or `Sys.retrying` (blocking calls: EINTR retried, any other errno thrown).
// Both share one EINTR loop. `Sys.poll` (Polling.swift) is the one poll loop. Deliberate exceptions:
// pthread calls return their error number instead of setting errno; `futexWait` reports `.interrupted`
// so that its caller recomputes the time left; `close` is never retried (on Linux the descriptor is
// gone even when it reports EINTR); fire-and-forget calls on descriptors that cannot block (an eventfd
// write, draining a signalfd) ignore errors.

import CMultiprocessingShims
import Glibc

// Said once, here, so that another platform gets one clear message instead of a page of missing calls.
#if !os(Linux)
    #error(
        "Multiprocessing runs on Linux only: it is built on Linux calls (pidfd_open, prctl, eventfd, signalfd, futex)")
#endif

/// A failed system call: which call, and the ``errno`` it left.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The name of the call that failed, e.g. `"fork"`.
    public let call: String
    /// The `errno` value the call left.
    public let errno: Int32

    /// The error for `call` (e.g. `"fork"`) having failed with `errno`.
    /// - Parameters:
    ///   - call: the name of the failed call.
    ///   - errno: the `errno` value it left.
    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// An error type with a `system` case that carries a ``SystemError`` (the runtime's error enums: the
/// enum case `case system(SystemError)` is the witness).
protocol WrapsSystemError: Error {
    static func system(_ error: SystemError) -> Self
}

extension WrapsSystemError {
    /// Runs `body`; a ``SystemError`` it throws is thrown again as `.system(error)`. Costs nothing beyond
    /// `body`. The closure must name its thrown type: `try SyncError.wrapping { () throws(SystemError) in … }`.
    /// - Throws: `Self.system(error)` when `body` throws `error`.
    @inline(__always)
    static func wrapping<T>(_ body: () throws(SystemError) -> T) throws(Self) -> T {
        do {
            return try body()
        } catch {
            throw .system(error)
        }
    }
}

/// What one non-blocking system call did (``Sys/call(_:_:_:)``).
enum SyscallResult: Equatable {
    /// The call succeeded and returned this (a byte count for reads and writes).
    case done(Int)
    /// Nothing can move now (EAGAIN/EWOULDBLOCK): wait for the descriptor.
    case wouldBlock
    /// A read found the end of the stream: 0 bytes, or ECONNRESET (a peer gone with unread data).
    case endOfFile
}

/// Thin, typed wrappers over the system calls the runtime uses.
package enum Sys {
    /// The calling thread's errno (a macro in C).
    static var errno: Int32 { mp_errno() }

    /// How ``call(_:_:_:)`` reads a result.
    enum CallKind {
        /// A result of 0 is a count like any other.
        case plain
        /// A read: 0 bytes and ECONNRESET are ``SyscallResult/endOfFile``.
        case read
    }

    /// Runs `body` (a call that returns -1 and sets errno on failure) until it does not fail with EINTR.
    /// Each retry evaluates `body` again, so a call that computes its own timeout recomputes it.
    /// EAGAIN/EWOULDBLOCK are ``SyscallResult/wouldBlock``; for `.read`, 0 and ECONNRESET are
    /// ``SyscallResult/endOfFile``. Costs nothing beyond the call.
    /// - Throws: ``SystemError`` named `name` for any other errno.
    @inline(__always)
    static func call(_ name: String, _ kind: CallKind = .plain, _ body: () -> Int) throws(SystemError)
        -> SyscallResult
    {
        let (result, error) = uninterrupted(body)
        if result != -1 { return kind == .read && result == 0 ? .endOfFile : .done(result) }
        switch error {
        case EAGAIN, EWOULDBLOCK: return .wouldBlock
        case ECONNRESET where kind == .read: return .endOfFile
        default: throw SystemError(name, errno: error)
        }
    }

    /// Runs a blocking call (fcntl, dup2, waitpid, sendmsg, poll) until it does not fail with EINTR and
    /// returns its result. EAGAIN is an error here. Costs nothing beyond the call.
    /// - Throws: ``SystemError`` named `name` when the call returns -1 with any errno but EINTR.
    @discardableResult
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ name: String, _ body: () -> T) throws(SystemError) -> T {
        let (result, error) = uninterrupted(body)
        if result != -1 { return result }
        throw SystemError(name, errno: error)
    }

    /// The one EINTR loop: the result, and the errno when the result is -1 (never EINTR then).
    @inline(__always)
    private static func uninterrupted<T: BinaryInteger>(_ body: () -> T) -> (result: T, errno: Int32) {
        while true {
            let result = body()
            if result != -1 { return (result, 0) }
            let error = mp_errno()
            if error != EINTR { return (result, error) }
        }
    }
}

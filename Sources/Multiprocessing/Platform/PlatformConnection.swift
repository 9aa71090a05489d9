// The platform calls under Connection: socket pairs and pipes (close-on-exec, non-blocking),
// single attempts at reading and writing, waiting for a descriptor or a wake-up with a deadline,
// and a fork counter that lets an object notice it was copied into a child.

import CMultiprocessingShims
import Glibc

extension Sys {
    /// A connected pair of Unix stream sockets, both close-on-exec and non-blocking.
    static func socketPair() throws(SystemError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        if socketpair(AF_UNIX, type, 0, &fds) != 0 { throw SystemError("socketpair", errno: mp_errno()) }
        return (fds[0], fds[1])
    }

    /// A pipe whose ends are close-on-exec and non-blocking.
    static func nonBlockingPipe() throws(SystemError) -> (read: Int32, write: Int32) {
        let (readEnd, writeEnd) = try pipe()
        for fd in [readEnd, writeEnd] {
            let flags = fcntl(fd, F_GETFL)
            if flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 {
                let error = mp_errno()
                close(readEnd)
                close(writeEnd)
                throw SystemError("fcntl", errno: error)
            }
        }
        return (readEnd, writeEnd)
    }

    /// A close-on-exec eventfd, to wake threads blocked in `waitForEvent`.
    static func eventDescriptor() throws(SystemError) -> Int32 {
        let fd = mp_eventfd_cloexec()
        if fd < 0 { throw SystemError("eventfd", errno: mp_errno()) }
        return fd
    }

    /// Makes an eventfd readable, for good: everyone polling it wakes up.
    static func signalEvent(_ fd: Int32) {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// The outcome of one non-blocking read or write.
    enum Transfer {
        /// This many bytes moved; 0 from a read means end of file.
        case bytes(Int)
        /// Nothing can move now (EAGAIN): wait for the descriptor.
        case wouldBlock
    }

    /// One read of up to `count` bytes, retrying EINTR. ECONNRESET is end of file.
    @inline(__always)
    static func readOnce(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) throws(SystemError) -> Transfer
    {
        while true {
            let result = Glibc.read(fd, buffer, count)
            if result >= 0 { return .bytes(result) }
            switch mp_errno() {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            case ECONNRESET: return .bytes(0)
            case let error: throw SystemError("read", errno: error)
            }
        }
    }

    /// One gathering write of `parts`, retrying EINTR. On a socket it is `sendmsg` with
    /// MSG_NOSIGNAL, so a closed peer is EPIPE, never SIGPIPE; on a pipe, SIGPIPE must be ignored.
    static func writeOnce(_ fd: Int32, _ parts: UnsafeMutableBufferPointer<iovec>, socket: Bool) throws(SystemError)
        -> Transfer
    {
        while true {
            let result: Int
            if socket {
                var message = msghdr()
                message.msg_iov = parts.baseAddress
                message.msg_iovlen = parts.count
                result = sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            } else {
                result = writev(fd, parts.baseAddress, Int32(parts.count))
            }
            if result >= 0 { return .bytes(result) }
            switch mp_errno() {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            case let error: throw SystemError(socket ? "sendmsg" : "writev", errno: error)
            }
        }
    }

    /// What ended a `waitForEvent`.
    enum Readiness {
        /// The descriptor is ready (or at end of file, or in error: the next call says which).
        case ready
        /// The wake descriptor fired.
        case woken
        case timedOut
    }

    /// Waits until `fd` is readable (or writable), `wake` is readable, or the deadline passes.
    /// EINTR is retried with the remaining time; nil waits without limit.
    static func waitForEvent(_ fd: Int32, writable: Bool, wake: Int32, deadline: ContinuousClock.Instant?)
        throws(SystemError) -> Readiness
    {
        while true {
            var entries = (
                pollfd(fd: fd, events: Int16(writable ? POLLOUT : POLLIN), revents: 0),
                pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
            )
            let timeout = pollTimeout(until: deadline)
            let result = withUnsafeMutableBytes(of: &entries) { raw in
                poll(raw.baseAddress!.assumingMemoryBound(to: pollfd.self), 2, timeout)
            }
            if result > 0 {
                if entries.1.revents != 0 { return .woken }
                return .ready
            }
            if result == 0 {
                // poll's millisecond resolution can wake a hair early; only the clock decides.
                if let deadline, ContinuousClock.now >= deadline { return .timedOut }
                continue
            }
            let error = mp_errno()
            if error != EINTR { throw SystemError("poll", errno: error) }
        }
    }
}

/// Counts forks: a child's generation differs from its parent's. An object that holds locks or
/// per-process descriptors compares the generation it last saw with this one to notice that it was
/// copied into a child, where another thread of the parent may have left its locks held.
enum ForkGeneration {
    /// Written only in a fresh child (one thread) by the atfork handler; read by everyone.
    nonisolated(unsafe) private(set) static var current: UInt64 = 0

    /// Serializes the one-time adoption of an object in a child. Re-created in every child.
    static let adoptionLock = LocalMutex()

    /// Installs the atfork handler, once per program (the handler is inherited by children).
    static let installed: Bool = {
        _ = adoptionLock
        return pthread_atfork(nil, nil) {
            ForkGeneration.current &+= 1
            ForkGeneration.adoptionLock.reinitializeInChild()
        } == 0
    }()
}

// Descriptors: pipes and socket pairs (always close-on-exec), non-blocking mode, eventfds, single
// non-blocking reads and writes, packets that carry a descriptor (SCM_RIGHTS), blocking reads to the
// end, and redirection of the standard descriptors.

import CMultiprocessingShims
import Glibc

extension Sys {
    /// Closes a descriptor. Not retried on EINTR: on Linux the descriptor is gone either way.
    package static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// A close-on-exec duplicate of a descriptor, or nil if none can be made.
    package static func duplicate(_ fd: Int32) -> Int32? {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        return copy >= 0 ? copy : nil
    }

    /// A pipe whose two ends are close-on-exec.
    package static func pipe() throws(SystemError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        let result = fds.withUnsafeMutableBufferPointer { mp_pipe_cloexec($0.baseAddress!) }
        if result != 0 { throw SystemError("pipe2", errno: mp_errno()) }
        return (fds[0], fds[1])
    }

    /// A pipe whose ends are close-on-exec and non-blocking.
    static func nonBlockingPipe() throws(SystemError) -> (read: Int32, write: Int32) {
        let (readEnd, writeEnd) = try pipe()
        do throws(SystemError) {
            try setNonBlocking(readEnd)
            try setNonBlocking(writeEnd)
        } catch {
            close(readEnd)
            close(writeEnd)
            throw error
        }
        return (readEnd, writeEnd)
    }

    /// What a socket pair carries.
    enum SocketKind {
        /// Bytes: frames are ours to delimit.
        case stream
        /// SOCK_SEQPACKET: each message stays whole and can carry descriptors with it.
        case packets
    }

    /// A pair of connected Unix sockets, both close-on-exec; non-blocking when asked.
    static func socketPair(_ kind: SocketKind, nonBlocking: Bool) throws(SystemError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        var type =
            (kind == .stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_SEQPACKET.rawValue))
            | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        if socketpair(AF_UNIX, type, 0, &fds) != 0 { throw SystemError("socketpair", errno: mp_errno()) }
        return (fds[0], fds[1])
    }

    static func setNonBlocking(_ fd: Int32) throws(SystemError) {
        let flags = try retrying("fcntl") { fcntl(fd, F_GETFL) }
        try retrying("fcntl") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// A close-on-exec, non-blocking eventfd, to wake threads blocked in `waitForEvent`.
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

    /// Reads and discards what a non-blocking event descriptor (eventfd or signalfd) holds.
    static func drainEvents(_ fd: Int32) {
        var scratch = [UInt8](repeating: 0, count: 1024)
        while scratch.withUnsafeMutableBytes({ Glibc.read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// The outcome of one non-blocking read or write.
    enum Transfer {
        /// This many bytes moved; 0 from a read means end of file.
        case bytes(Int)
        /// Nothing can move now (EAGAIN): wait for the descriptor.
        case wouldBlock
    }

    /// Asks the kernel for a pipe buffer of `size` bytes (`F_SETPIPE_SZ`); a refusal (over the
    /// user's limit, or not a pipe) leaves the pipe as it was, which is only slower.
    static func growPipe(_ fd: Int32, to size: Int) {
        _ = fcntl(fd, 1031, Int32(size))  // F_SETPIPE_SZ, which Glibc's module leaves out
    }

    /// One read of up to `count` bytes, retrying EINTR. ECONNRESET is end of file.
    @inline(__always)
    static func readOnce(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) throws(SystemError) -> Transfer
    {
        switch try call("read", .read, { Glibc.read(fd, buffer, count) }) {
        case .done(let moved): return .bytes(moved)
        case .wouldBlock: return .wouldBlock
        case .endOfFile: return .bytes(0)
        }
    }

    /// One gathering write of `parts`, retrying EINTR. On a socket it is `sendmsg` with
    /// MSG_NOSIGNAL, so a closed peer is EPIPE, never SIGPIPE; on a pipe, SIGPIPE must be ignored.
    static func writeOnce(_ fd: Int32, _ parts: UnsafeMutableBufferPointer<iovec>, socket: Bool) throws(SystemError)
        -> Transfer
    {
        let result: SyscallResult
        if socket {
            var message = msghdr()
            message.msg_iov = parts.baseAddress
            message.msg_iovlen = parts.count
            result = try call("sendmsg") { sendmsg(fd, &message, Int32(MSG_NOSIGNAL)) }
        } else {
            result = try call("writev") { writev(fd, parts.baseAddress, Int32(parts.count)) }
        }
        switch result {
        case .done(let moved): return .bytes(moved)
        case .wouldBlock, .endOfFile: return .wouldBlock  // .endOfFile: only reads report it
        }
    }

    /// Sends one packet (blocking), with a descriptor riding along when `passing` is given.
    /// A peer that is gone is `EPIPE`, never a SIGPIPE.
    static func sendPacket(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, passing descriptor: Int32? = nil)
        throws(SystemError)
    {
        try retrying("sendmsg") { mp_send_with_descriptor(fd, bytes.baseAddress, bytes.count, descriptor ?? -1) }
    }

    enum PacketReceipt {
        case received(count: Int, descriptor: Int32?)
        /// Nothing to read now (only when not waiting).
        case wouldBlock
        case endOfFile
    }

    /// Receives one packet; a descriptor passed with it arrives close-on-exec.
    static func receivePacket(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, wait: Bool)
        throws(SystemError) -> PacketReceipt
    {
        var passed: Int32 = -1
        let result = try call("recvmsg", .read) {
            mp_receive_with_descriptor(fd, buffer.baseAddress, buffer.count, &passed, wait ? 0 : 1)
        }
        switch result {
        case .done(let received): return .received(count: received, descriptor: passed >= 0 ? passed : nil)
        case .wouldBlock: return .wouldBlock
        case .endOfFile: return .endOfFile
        }
    }

    /// Reads what is there without waiting (the descriptor is non-blocking): the count read,
    /// 0 at end of file, nil when nothing is available now.
    static func readAvailable(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) throws(SystemError) -> Int?
    {
        switch try call("read", .read, { Glibc.read(fd, buffer, count) }) {
        case .done(let moved): return moved
        case .endOfFile: return 0
        case .wouldBlock: return nil
        }
    }

    /// Writes what the socket takes now (MSG_DONTWAIT): the count written, possibly 0.
    /// A peer that is gone is `EPIPE`, never a SIGPIPE.
    static func sendAvailable(_ fd: Int32, _ bytes: UnsafeRawPointer, count: Int) throws(SystemError) -> Int {
        switch try call("send", .plain, { send(fd, bytes, count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }) {
        case .done(let moved): return moved
        case .wouldBlock, .endOfFile: return 0  // .endOfFile: only reads report it
        }
    }

    /// Reads up to `count` bytes, blocking, retrying EINTR. An empty array means end of file.
    package static func read(_ fd: Int32, upTo count: Int) throws(SystemError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let got = buffer.withUnsafeMutableBytes { raw in
            Result { () throws(SystemError) in try retrying("read") { Glibc.read(fd, raw.baseAddress, count) } }
        }
        buffer.removeSubrange(try got.get()...)
        return buffer
    }

    /// Reads until end of file: until every process that has the write end has closed it.
    package static func readToEnd(_ fd: Int32) throws(SystemError) -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let chunk = try read(fd, upTo: 65536)
            if chunk.isEmpty { return bytes }
            bytes += chunk
        }
    }

    /// Makes `fd` also known as `target` (dup2), e.g. to point stdout at a pipe.
    package static func redirect(_ fd: Int32, to target: Int32) throws(SystemError) {
        try retrying("dup2") { dup2(fd, target) }
    }

    /// Writes a whole string to a descriptor, retrying short writes and EINTR; errors are dropped
    /// (used for last-words diagnostics on stderr, where nothing better can be done).
    package static func writeAll(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = try? retrying("write") { write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
                guard let written, written > 0 else { return }
                offset += written
            }
        }
    }

    /// Points descriptor 0 at /dev/null (a child must not compete for the terminal's input). In C,
    /// so that a child binds none of the calls lazily (see mp_redirect_stdin_to_dev_null).
    static func redirectStdinToDevNull() {
        mp_redirect_stdin_to_dev_null()
    }
}

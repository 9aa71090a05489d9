// The platform calls behind Pool: socket pairs, passing a descriptor to another process, non-blocking
// I/O, poll over many descriptors, signal masks, a descriptor for child exits, shared anonymous
// memory, plain threads, and a mutex with a condition variable on the monotonic clock.

import CMultiprocessingShims
import Glibc

extension Sys {
    /// A pair of connected Unix sockets, both close-on-exec.
    /// `.stream` carries bytes (frames are ours to delimit); `.packets` (SOCK_SEQPACKET) keeps each
    /// message whole and can carry descriptors with it.
    enum SocketKind {
        case stream
        case packets
    }

    static func socketPair(_ kind: SocketKind) throws(SystemError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        let type =
            (kind == .stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_SEQPACKET.rawValue))
            | Int32(SOCK_CLOEXEC.rawValue)
        if socketpair(AF_UNIX, type, 0, &fds) != 0 { throw SystemError("socketpair", errno: errno) }
        return (fds[0], fds[1])
    }

    static func setNonBlocking(_ fd: Int32) throws(SystemError) {
        let flags = try retrying("fcntl") { fcntl(fd, F_GETFL) }
        try retrying("fcntl") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
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
        while true {
            let got = mp_receive_with_descriptor(fd, buffer.baseAddress, buffer.count, &passed, wait ? 0 : 1)
            if got > 0 { return .received(count: got, descriptor: passed >= 0 ? passed : nil) }
            if got == 0 { return .endOfFile }
            let error = errno
            if error == EINTR { continue }
            if error == EAGAIN || error == EWOULDBLOCK { return .wouldBlock }
            if error == ECONNRESET { return .endOfFile }
            throw SystemError("recvmsg", errno: error)
        }
    }

    /// Reads what is there without waiting (the descriptor is non-blocking): the count read,
    /// 0 at end of file, nil when nothing is available now.
    static func readAvailable(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) throws(SystemError) -> Int?
    {
        while true {
            let got = Glibc.read(fd, buffer, count)
            if got >= 0 { return got }
            let error = errno
            if error == EINTR { continue }
            if error == EAGAIN || error == EWOULDBLOCK { return nil }
            if error == ECONNRESET { return 0 }
            throw SystemError("read", errno: error)
        }
    }

    /// Writes what the socket takes now (MSG_DONTWAIT): the count written, possibly 0.
    /// A peer that is gone is `EPIPE`, never a SIGPIPE.
    static func sendAvailable(_ fd: Int32, _ bytes: UnsafeRawPointer, count: Int) throws(SystemError) -> Int {
        while true {
            let sent = send(fd, bytes, count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            if sent >= 0 { return sent }
            let error = errno
            if error == EINTR { continue }
            if error == EAGAIN || error == EWOULDBLOCK { return 0 }
            throw SystemError("send", errno: error)
        }
    }

    /// poll() over many descriptors until one is ready or the deadline passes (nil: no deadline).
    /// EINTR is retried with the remaining time. Returns the number of ready entries (0: timeout).
    static func pollAll(_ entries: inout [pollfd], deadline: ContinuousClock.Instant?) throws(SystemError) -> Int {
        while true {
            let result = entries.withUnsafeMutableBufferPointer { buffer in
                Glibc.poll(buffer.baseAddress, nfds_t(buffer.count), pollTimeout(until: deadline))
            }
            if result >= 0 { return Int(result) }
            let error = errno
            if error != EINTR { throw SystemError("poll", errno: error) }
        }
    }

    /// The calling thread's signal mask.
    static func signalMask() -> sigset_t {
        var mask = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &mask)
        return mask
    }

    static func setSignalMask(_ mask: sigset_t) {
        var mask = mask
        pthread_sigmask(SIG_SETMASK, &mask, nil)
    }

    /// Blocks every signal that can be blocked in the calling thread, so that signals meant for the
    /// program go to its own threads, never to the runtime's.
    static func blockAllSignals() {
        var all = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, nil)
    }

    /// Blocks SIGCHLD in the calling thread and returns a descriptor that is readable when a child
    /// has ended (a signalfd). Reap with `reapAnyChild()` until it returns nil, then `drainEvents`.
    static func childExitDescriptor() throws(SystemError) -> Int32 {
        let fd = mp_child_exit_descriptor()
        if fd < 0 { throw SystemError("signalfd", errno: errno) }
        return fd
    }

    /// Reads and discards what a non-blocking event descriptor (eventfd or signalfd) holds.
    static func drainEvents(_ fd: Int32) {
        var scratch = [UInt8](repeating: 0, count: 1024)
        while scratch.withUnsafeMutableBytes({ Glibc.read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// `waitpid(-1, WNOHANG)`: one ended child, reaped, or nil when none has ended (or none exists).
    static func reapAnyChild() -> (pid: pid_t, status: ExitStatus)? {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid > 0 { return (pid, ExitStatus(waitStatus: status)) }
            if pid < 0 && errno == EINTR { continue }
            return nil
        }
    }

    /// Waits up to the deadline for a child to end and reaps it; nil if it still runs then.
    static func reap(_ pid: pid_t, deadline: ContinuousClock.Instant) throws(SystemError) -> ExitStatus? {
        if let fd = pidfd(for: pid) {
            defer { close(fd) }
            _ = try waitReadable(fd, deadline: deadline)
            return try reapIfEnded(pid)
        }
        var pause = Duration.microseconds(50)
        while true {
            if let status = try reapIfEnded(pid) { return status }
            if ContinuousClock.now >= deadline { return nil }
            sleep(for: pause)
            pause = min(pause * 2, .milliseconds(5))
        }
    }

    static func ignoreSignal(_ signal: Int32) {
        _ = mp_signal_ignore(signal)
    }

    static func defaultSignal(_ signal: Int32) {
        _ = mp_signal_default(signal)
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
        let alreadyJoined = mutex.withLock {
            defer { joined = true }
            return joined
        }
        if !alreadyJoined { pthread_join(thread, nil) }
    }

    /// Lets the thread end on its own (when it cannot be joined, e.g. from itself).
    func detach() {
        let alreadyJoined = mutex.withLock {
            defer { joined = true }
            return joined
        }
        if !alreadyJoined { pthread_detach(thread) }
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
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
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

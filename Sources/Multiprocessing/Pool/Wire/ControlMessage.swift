// What the parent and the zygote say to each other: fixed 32-byte messages on a SEQPACKET socket,
// four Int64s (kind, a, b, c). The zygote passes each new worker's socket (the parent's end) along
// with its `spawned` message (SCM_RIGHTS). This file is the only one that knows the byte layout.

import Glibc

/// A message between the parent and the zygote (32 bytes on the wire).
enum ControlMessage: Equatable {
    // parent → zygote
    /// Fork a worker for this slot, named `PoolWorker-<number>`. Wire: kind 1, a slot, b number.
    case spawn(slot: Int, number: Int)
    /// SIGKILL that worker, if it is still an unreaped child. Wire: kind 2, a pid.
    case kill(pid: pid_t)
    /// SIGKILL every worker, reap them, exit. Wire: kind 3.
    case terminate
    /// Wait for the workers to end (they have been told to stop), reap them, exit. Wire: kind 4.
    case exit
    // zygote → parent
    /// A worker was forked; the parent's end of its socket rides along. Wire: kind 10, a slot,
    /// b number, c pid.
    case spawned(slot: Int, number: Int, pid: pid_t)
    /// The fork or the socket pair for a worker failed. Wire: kind 11, a slot, b number, c errno.
    case spawnFailed(slot: Int, number: Int, errno: Int32)
    /// What the zygote sends when it has reaped a worker. Wire: kind 12, a pid, b 0 when it exited
    /// or 1 when a signal killed it, c the exit code or the signal.
    case died(pid: pid_t, status: ExitStatus)

    static let size = 32

    /// Decodes a message of `size` bytes; nil for any other length or an unknown kind (ignored by
    /// both sides).
    init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.size else { return nil }
        let kind = bytes.loadUnaligned(fromByteOffset: 0, as: Int64.self)
        let a = bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self)
        let b = bytes.loadUnaligned(fromByteOffset: 16, as: Int64.self)
        let c = bytes.loadUnaligned(fromByteOffset: 24, as: Int64.self)
        switch kind {
        case 1: self = .spawn(slot: Int(a), number: Int(b))
        case 2: self = .kill(pid: pid_t(truncatingIfNeeded: a))
        case 3: self = .terminate
        case 4: self = .exit
        case 10: self = .spawned(slot: Int(a), number: Int(b), pid: pid_t(truncatingIfNeeded: c))
        case 11: self = .spawnFailed(slot: Int(a), number: Int(b), errno: Int32(truncatingIfNeeded: c))
        case 12:
            let value = Int32(truncatingIfNeeded: c)
            self = .died(pid: pid_t(truncatingIfNeeded: a), status: b == 0 ? .exited(value) : .signaled(value))
        default: return nil
        }
    }

    /// The four integers on the wire: kind, a, b, c.
    private var words: (Int64, Int64, Int64, Int64) {
        switch self {
        case .spawn(let slot, let number): return (1, Int64(slot), Int64(number), 0)
        case .kill(let pid): return (2, Int64(pid), 0, 0)
        case .terminate: return (3, 0, 0, 0)
        case .exit: return (4, 0, 0, 0)
        case .spawned(let slot, let number, let pid): return (10, Int64(slot), Int64(number), Int64(pid))
        case .spawnFailed(let slot, let number, let errno): return (11, Int64(slot), Int64(number), Int64(errno))
        case .died(let pid, .exited(let code)): return (12, Int64(pid), 0, Int64(code))
        case .died(let pid, .signaled(let signal)): return (12, Int64(pid), 1, Int64(signal))
        }
    }

    /// Sends the message as one packet, with `descriptor` attached when given.
    /// - Throws: `SystemError` from sendmsg (EPIPE: the other side is gone).
    func send(on fd: Int32, passing descriptor: Int32? = nil) throws(SystemError) {
        var copy = words
        try withUnsafeBytes(of: &copy) { (raw) throws(SystemError) in
            try Sys.sendPacket(fd, raw, passing: descriptor)
        }
    }
}

// The registry of pool descriptors open in this process (so a new zygote closes the others').

/// The pool-internal descriptors of this process, so that a new zygote closes the other pools'
/// (a copy kept open would hide the end of file that tells their processes the parent is gone).
/// Descriptors are opened, received and closed with the lock held, and the zygote is forked with it
/// held, so its list is exact.
enum PoolDescriptors {
    static let lock = LocalMutex()
    nonisolated(unsafe) static var open: Set<Int32> = []

    static func add(_ fds: Int32...) {
        lock.withLock { for fd in fds { open.insert(fd) } }
    }

    static func close(_ fd: Int32) {
        lock.withLock {
            open.remove(fd)
            Sys.close(fd)
        }
    }
}

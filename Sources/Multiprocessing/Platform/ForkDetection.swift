// Fork detection: how code notices it now runs in a forked child. Two mechanisms, both refreshed by
// pthread_atfork handlers in the child: the C shim's cached pid (`processID`, refreshed by the shim's
// handler; also resets the cached thread id), and `ForkGeneration`, a counter that objects holding
// locks or per-process descriptors compare with the value they last saw. (ProcessTable's own pid is
// the third, kept by the Process folder.)

import CMultiprocessingShims
import Glibc

extension Sys {
    /// The calling process's pid, without a system call (cached; refreshed in a forked child).
    package static var processID: pid_t { mp_cached_pid() }
}

/// Counts forks: a child's generation differs from its parent's. An object that holds locks or
/// per-process descriptors compares the generation it last saw with this one to notice that it was
/// copied into a child, where another thread of the parent may have left its locks held.
enum ForkGeneration {
    /// Written only in a fresh child (one thread) by the atfork handler; read by everyone.
    /// Unchecked: read by every lock's fork check, where a checked access would write the thread's
    /// access set (a page a fork shares with the child).
    @exclusivity(unchecked) nonisolated(unsafe) private(set) static var current: UInt64 = 0

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

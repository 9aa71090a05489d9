// Signals: their names, sending them, the calling thread's mask, dispositions (ignore, default), the
// parent-death signal, and a signalfd that reports child exits.

import CMultiprocessingShims
import Glibc

/// The conventional name of a signal number, e.g. `SIGKILL` for 9, or `signal N` for one without a
/// name here. One table (in the C shim) serves the runtime and the book's runner. Costs a table look-up
/// and one string.
public func signalName(_ signal: Int32) -> String {
    if let name = mp_signal_name(signal) { return String(cString: name) }
    return "signal \(signal)"
}

extension Sys {
    /// Sends a signal; a process that is already gone is not an error.
    static func signal(_ pid: pid_t, _ signal: Int32) throws(SystemError) {
        if Glibc.kill(pid, signal) != 0 {
            let error = mp_errno()
            if error != ESRCH { throw SystemError("kill", errno: error) }
        }
    }

    /// Whether a process with this pid exists (signal 0: nothing is sent). A zombie exists.
    static func processExists(_ pid: pid_t) -> Bool {
        Glibc.kill(pid, 0) == 0
    }

    /// Asks the kernel to send `signal` to this process when its parent thread ends.
    static func setParentDeathSignal(_ signal: Int32) {
        _ = mp_set_parent_death_signal(signal)
    }

    /// Ignores SIGPIPE, once per process, so that a write to a closed peer fails with EPIPE.
    static func ignoreSIGPIPE() {
        _ = mp_signal_ignore(SIGPIPE)
    }

    static func ignoreSignal(_ signal: Int32) {
        _ = mp_signal_ignore(signal)
    }

    static func defaultSignal(_ signal: Int32) {
        _ = mp_signal_default(signal)
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
        if fd < 0 { throw SystemError("signalfd", errno: mp_errno()) }
        return fd
    }
}

// The lifecycle of a Connection end across threads and forks: close() from any thread, the calls in
// progress it wakes (through an eventfd made on first wait) and waits for before the descriptor is
// closed, and adoption in a forked child (locks re-made, the parent's calls forgotten).

import Glibc
import Synchronization

extension Connection {
    // MARK: Closing

    /// Closes this end in this process. Closing twice is allowed. Calls that other threads have
    /// in progress on this end wake up and throw `.closed`; the descriptor is closed once they have
    /// returned. Copies of this end held by other processes stay open. Python's `Connection.close()`.
    public func close() {
        adoptIfForked()
        let before = lifecycle.bitwiseOr(Self.closedBit, ordering: .acquiringAndReleasing).oldValue
        if before & Self.closedBit != 0 { return }
        if before < Self.oneUser {
            release()
        } else {
            // Wake the calls in progress; the last one to leave releases the descriptor.
            wakeLock.withLock { if wakeFd >= 0 { Sys.signalEvent(wakeFd) } }
        }
    }

    /// True once ``close()`` was called on this end in this process. Python's `Connection.closed`.
    public var isClosed: Bool {
        adoptIfForked()
        return lifecycle.load(ordering: .acquiring) & Self.closedBit != 0
    }

    // MARK: Bookkeeping

    /// Starts a call: checks direction and state, and counts the call so that `close()` defers
    /// closing the descriptor until it ends.
    @inline(__always)
    func enter(sending: Bool) throws(ConnectionError) {
        if sending && kind == .receiveOnly {
            throw .wrongDirection(.send)
        }
        if !sending && kind == .sendOnly {
            throw .wrongDirection(.receive)
        }
        adoptIfForked()
        let after = lifecycle.wrappingAdd(Self.oneUser, ordering: .acquiringAndReleasing).newValue
        if after & Self.closedBit != 0 {
            leave()
            throw .closed
        }
    }

    @inline(__always)
    func leave() {
        let after = lifecycle.wrappingSubtract(Self.oneUser, ordering: .acquiringAndReleasing).newValue
        if after == Self.closedBit { release() }
    }

    /// Closes the descriptor, once: whoever moves the state from "closed, unused" to "released".
    func release() {
        guard
            lifecycle.compareExchange(
                expected: Self.closedBit, desired: Self.closedBit | Self.releasedBit,
                ordering: .acquiringAndReleasing
            ).exchanged
        else { return }
        Sys.close(fd)
        wakeLock.withLock {
            if wakeFd >= 0 { Sys.close(wakeFd) }
            wakeFd = -1
        }
    }

    @inline(__always)
    func checkOpen() throws(ConnectionError) {
        if lifecycle.load(ordering: .acquiring) & Self.closedBit != 0 { throw .closed }
    }

    /// Waits for the descriptor, or for `close()` from another thread. False on timeout.
    func wait(writable: Bool, deadline: ContinuousClock.Instant?) throws(ConnectionError) -> Bool {
        let wake = try wakeDescriptor()
        let readiness: Sys.Readiness
        do throws(SystemError) {
            readiness = try Sys.waitForEvent(fd, writable: writable, wake: wake, deadline: deadline)
        } catch {
            throw .system(error)
        }
        switch readiness {
        case .ready: return true
        case .timedOut: return false
        case .woken: throw .closed
        }
    }

    /// The eventfd that `close()` signals to wake the calls in progress (made on first use). Only for
    /// a caller that has entered, so that it stays open until the caller leaves.
    func wakeDescriptor() throws(ConnectionError) -> Int32 {
        try wakeLock.withLock { () throws(ConnectionError) -> Int32 in
            // Checked under the lock, so a close() that comes after this sees the descriptor.
            try checkOpen()
            if wakeFd < 0 {
                do throws(SystemError) { wakeFd = try Sys.eventDescriptor() } catch { throw .system(error) }
            }
            return wakeFd
        }
    }

    /// In a forked child, on first use: re-make the locks (a parent thread may have held them at
    /// the fork), forget the parent's calls in progress, and drop the wake descriptor shared with
    /// the parent (the child makes its own when it first waits). Bytes read but not yet received
    /// stay: they belong to whichever process receives them.
    @inline(__always)
    func adoptIfForked() {
        if generation.load(ordering: .acquiring) == ForkGeneration.current { return }
        ForkGeneration.adoptionLock.withLock {
            if generation.load(ordering: .relaxed) == ForkGeneration.current { return }
            wakeLock.reinitializeInChild()
            readLock.reinitializeInChild()
            writeLock.reinitializeInChild()
            if wakeFd >= 0 {
                Sys.close(wakeFd)
                wakeFd = -1
            }
            let state = lifecycle.load(ordering: .relaxed) & (Self.closedBit | Self.releasedBit)
            lifecycle.store(state, ordering: .relaxed)
            // Closed in the parent while a call was in progress there: that call is not in the child.
            if state == Self.closedBit { release() }
            generation.store(ForkGeneration.current, ordering: .releasing)
        }
    }
}

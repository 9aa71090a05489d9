// Polling: the one poll loop (`Sys.poll`: EINTR retried with the time left, a timeout only once the
// clock says the deadline passed) and the three shapes the runtime waits in: one descriptor, one
// descriptor or a wake-up, many descriptors.

import Glibc

extension Sys {
    /// The one poll loop: waits until an entry is ready or `deadline` passes (nil: no deadline).
    /// EINTR is retried with the time left, and since poll's millisecond resolution can wake a hair
    /// early, only the clock decides the timeout. Returns how many entries are ready; 0 only once the
    /// deadline has passed. Costs one poll per wait (more only after a signal or an early wake-up).
    /// - Throws: ``SystemError`` ("poll") for any error but EINTR.
    static func poll(_ entries: UnsafeMutableBufferPointer<pollfd>, until deadline: ContinuousClock.Instant?)
        throws(SystemError) -> Int
    {
        while true {
            let ready = try retrying("poll") {
                Glibc.poll(entries.baseAddress, nfds_t(entries.count), pollTimeout(until: deadline))
            }
            if ready > 0 { return Int(ready) }
            if let deadline, ContinuousClock.now >= deadline { return 0 }
        }
    }

    /// Milliseconds until the deadline for poll(): -1 for none, 0 once passed, rounded up otherwise.
    static func pollTimeout(until deadline: ContinuousClock.Instant?) -> Int32 {
        guard let deadline else { return -1 }
        let remaining = ContinuousClock.now.duration(to: deadline)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }

    /// Waits until `fd` is readable (or hung up), or until the deadline passes (nil: no limit).
    /// Returns false on timeout.
    static func waitReadable(_ fd: Int32, deadline: ContinuousClock.Instant?) throws(SystemError) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return try withUnsafeMutablePointer(to: &entry) { (pointer) throws(SystemError) -> Bool in
            try poll(UnsafeMutableBufferPointer(start: pointer, count: 1), until: deadline) > 0
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

    /// Waits until `fd` is readable (or writable), `wake` is readable, or the deadline passes
    /// (nil: no limit).
    static func waitForEvent(_ fd: Int32, writable: Bool, wake: Int32, deadline: ContinuousClock.Instant?)
        throws(SystemError) -> Readiness
    {
        var entries = (
            pollfd(fd: fd, events: Int16(writable ? POLLOUT : POLLIN), revents: 0),
            pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
        )
        let ready = try withUnsafeMutableBytes(of: &entries) { (raw) throws(SystemError) -> Int in
            let first = raw.baseAddress!.assumingMemoryBound(to: pollfd.self)
            return try poll(UnsafeMutableBufferPointer(start: first, count: 2), until: deadline)
        }
        if ready == 0 { return .timedOut }
        return entries.1.revents != 0 ? .woken : .ready
    }

    /// Waits until one of `entries` is ready or the deadline passes (nil: no deadline). Returns the
    /// number of ready entries (0: the deadline passed).
    static func pollAll(_ entries: inout [pollfd], deadline: ContinuousClock.Instant?) throws(SystemError) -> Int {
        let ready = entries.withUnsafeMutableBufferPointer { buffer in
            Result { () throws(SystemError) in try poll(buffer, until: deadline) }
        }
        return try ready.get()
    }
}

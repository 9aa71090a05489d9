// What an async form tells the async engine (AsyncWaits.swift): what one attempt found, how its
// await ended, what makes its source worth another attempt, and where its outcome is kept.

/// What one attempt of an async form found.
enum AsyncAttempt {
    /// The operation is over, done or failed for good; the attempt stored its outcome.
    case finished
    /// It cannot go on yet. A futex source sleeps until the state moves from `token` (what it saw).
    case notYet(token: UInt64)
    /// Another thread holds what it needs (a connection's receive lock): try again after a pause.
    case busy
}

/// How an await ended.
enum AsyncWaitEnding {
    case finished, timedOut, cancelled
    /// The machinery could not be set up (no descriptor or thread left).
    case failed(SystemError)
}

/// What makes a source worth another attempt.
enum AsyncReadiness {
    /// One of these descriptors turns readable (or hangs up). `owned`: closed when the source ends.
    case descriptors([Int32], owned: Bool)
    /// A waiting thread's bounded wait: returns once the state may have moved from the last attempt's
    /// token, or at the deadline (the end of its slice).
    case futex(@Sendable (_ token: UInt64, _ until: Deadline) -> Void)
    /// `AsyncWaits.signal` from this process.
    case signal
    /// Nothing to watch (a kernel without pidfds): attempt again after a growing pause.
    case polling
}

/// The operations that have sources: one source per object and operation.
enum AsyncWaitKind: UInt8 {
    case join, get, put, allDone, receive, result
}

/// Where an attempt stores its outcome for the awaiting task. Written by the finishing attempt, read
/// by the task once resumed (the engine's lock orders the two).
final class AsyncOutcome<Value, Failure: Error>: @unchecked Sendable {
    private var stored: Result<Value, Failure>?

    func set(_ result: Result<Value, Failure>) { stored = result }
    func get() throws(Failure) -> Value { try stored!.get() }
}

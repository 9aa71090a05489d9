// The async form of ChildProcess.join: await a child's end without blocking a thread.

extension ChildProcess {
    /// Waits until the child ends, or until `timeout` has passed, without blocking a thread: the
    /// Swift-concurrency form of ``join(timeout:)`` (Python has none; its `Process.join` blocks). In
    /// async code, `try await child.join()` picks this overload. Any number of tasks may await the
    /// same child.
    ///
    /// - Parameter timeout: nil waits for ever; zero or negative checks once, as the blocking form.
    /// - Returns: true when the child has ended (and been reaped); false when the timeout passed first.
    /// - Throws: ``ProcessError/cancelled`` when the awaiting task is cancelled (the child goes on, and
    ///   can be joined later); otherwise as ``join(timeout:)``: `.notStarted`,
    ///   `.cannotJoinCurrentProcess`, `.notOwnedByThisProcess`, `.system` (also when no descriptor or
    ///   thread is left for the wait).
    /// - Cost: a reap attempt (`waitid` with WNOHANG) on the calling thread; while the child runs,
    ///   one pidfd watched by the runtime's one reactor thread, shared by every task awaiting this
    ///   child (without pidfds, a reap attempt every 1 to 20 ms).
    @discardableResult
    public func join(timeout: Duration? = nil) async throws(ProcessError) -> Bool {
        if self === ProcessTable.shared.current { throw .cannotJoinCurrentProcess }
        let outcome = AsyncOutcome<Bool, ProcessError>()
        let ending = await AsyncWaits.shared.wait(
            on: self, .join, until: Deadline(timeout: timeout),
            readiness: { [self] in
                // A private duplicate of the pidfd: another thread may reap the child and close the original.
                if case .waitOn(let fd)? = try? nextWaitStep(timed: true) { return .descriptors([fd], owned: true) }
                return .polling  // no pidfd, or already ended or failing: the next attempt says which
            },
            attempt: { [self] in
                do throws(ProcessError) {
                    switch try nextWaitStep(timed: true) {
                    case .ended:
                        outcome.set(.success(true))
                        return .finished
                    case .waitOn(let fd):
                        Sys.close(fd)
                        return .notYet(token: 0)
                    case .waitUntilEnded, .pollWithoutPidfd:
                        return .notYet(token: 0)
                    }
                } catch {
                    outcome.set(.failure(error))
                    return .finished
                }
            })
        switch ending {
        case .finished: return try outcome.get()
        case .timedOut: return false
        case .cancelled: throw .cancelled
        case .failed(let error): throw .system(error)
        }
    }
}

// ChildProcess as a sentinel for waitForAny (Async/WaitForAny.swift): ready once the child has ended.

extension ChildProcess: Waitable {
    /// How ``waitForAny(_:timeout:)`` watches this child: ready once it has ended (and is then
    /// reaped, as ``isAlive`` would), watched through a duplicate of its pidfd (without pidfds, looked
    /// at every 5 ms). Python's `Process.sentinel`, which is a descriptor instead.
    /// `waitForAny` throws ``WaitError/process(index:_:)`` with ``ProcessError/notStarted(name:operation:)``
    /// before ``start()``, `.closed` after ``close()``, `.notOwnedByThisProcess` in a process that did
    /// not start it (the current process included).
    public var _waitCondition: _WaitCondition {
        _WaitCondition { [self] () throws(WaitFailure) -> WaitHandle in
            let step: WaitStep
            do throws(ProcessError) { step = try nextWaitStep(timed: true, operation: .wait) } catch {
                throw .process(error)
            }
            var handle = WaitHandle(isReady: { [self] () throws(WaitFailure) -> Bool in
                do throws(ProcessError) {
                    // Untimed: reaps an ended child, opens and duplicates nothing.
                    if case .ended = try nextWaitStep(timed: false, operation: .wait) { return true }
                    return false
                } catch {
                    throw .process(error)
                }
            })
            if case .waitOn(let fd) = step {
                handle.descriptors = [fd]
                handle.end = { Sys.close(fd) }
            }
            return handle
        }
    }
}

/// Why a pool call failed, or why a task did not produce its result.
public enum PoolError: Error, Equatable, CustomStringConvertible, Sendable {
    /// `processes` was less than 1.
    case invalidProcessCount(Int)
    /// `maxTasksPerChild` was less than 1.
    case invalidMaxTasksPerChild(Int)
    /// A chunk size was less than 1.
    case invalidChunkSize(Int)
    /// The work function threw in a worker: where (the worker's name and pid, as in
    /// ``workerDied(worker:pid:status:)``) and what (the error's type, e.g. `"TooBig"`, and its
    /// `String(describing:)`). The error value itself stays in the worker: only these texts travel.
    ///
    /// Python shows more: it raises the worker's exception again in the caller, with the worker's
    /// traceback attached as text (a `RemoteTraceback`, the exception's `__cause__`), file and line
    /// included. Swift cannot: a thrown error is a plain value that records nothing of where it was
    /// thrown, and the stack of the `throw` is gone by the time the worker's `catch` sees the error
    /// (the runtime's backtracer runs only for crashes, and has no portable API). An error that must
    /// say where it was made can carry it: give its initializer `file: String = #fileID` and
    /// `line: Int = #line` arguments, and put them in its description.
    case taskFailed(worker: String, pid: Int32, type: String, description: String)
    /// The worker running the task ended before it answered (killed by a signal, crashed, or called
    /// `exit`). `status` is nil when its status could not be learnt (its zygote was gone).
    case workerDied(worker: String, pid: Int32, status: ExitStatus?)
    /// The initializer threw or crashed in a worker. The pool cannot work without it, so every
    /// pending and later task fails with this error; `terminate()` or `close()` the pool.
    case initializerFailed(worker: String, description: String)
    /// `terminate()` stopped the pool before the task finished.
    case terminated
    /// `get(timeout:)` waited this long and the result was not ready. The task goes on.
    case timeout(Duration)
    /// `isSuccessful` was asked before the result was ready.
    case notReady
    /// The pool takes no more work: it was closed or terminated.
    case notRunning(operation: PoolOperation, state: PoolState)
    /// `join()` before `close()` or `terminate()`: it would wait for ever.
    case joinWhileRunning
    /// The pool object was inherited by a forked child; only the process that created it can use it.
    case notOwnedByThisProcess(operation: PoolOperation)
    /// A blocking call from a success or error callback, which runs on the pool's own thread:
    /// waiting there for the pool would wait for ever.
    case blockingCallInCallback(operation: PoolOperation)
    /// An input could not be encoded (nothing was sent).
    case unencodableInput(CodecError)
    /// A worker's answer could not be decoded into the output type.
    case undecodableResult(CodecError)
    /// The pool's own machinery failed (its zygote died, or a worker sent a corrupt frame).
    case broken(reason: String)
    /// The waiting task was cancelled (`await result.value`); the pool task itself goes on.
    case cancelled
    /// A worker could not be started: the zygote's `fork` failed (`EAGAIN` at the user's process
    /// limit, `ENOMEM`), or the worker's socket could not be made or received. While the pool is
    /// starting this fails the pool, as in Python's `multiprocessing.Pool()`: the workers already
    /// started and the zygote are killed and reaped, then the queued tasks fail with it and later
    /// calls and `join()` throw it (`Pool()` itself returns before its workers are forked). Later,
    /// when a worker is replaced, a failed start is retried every 100 ms while there is work; only
    /// when no worker is left and none is coming do the queued tasks fail with it.
    case workerStartFailed(worker: String, error: SystemError)
    /// A system call failed: creating the pool's processes, sockets or thread.
    case system(SystemError)

    public var description: String {
        switch self {
        case .invalidProcessCount(let count):
            return "a pool needs at least 1 process, not \(count)"
        case .invalidMaxTasksPerChild(let count):
            return "maxTasksPerChild must be at least 1, not \(count)"
        case .invalidChunkSize(let size):
            return "the chunk size must be at least 1, not \(size)"
        case .taskFailed(let worker, let pid, let type, let description):
            return description.hasPrefix(type)
                ? "\(worker) (pid \(pid)): the work function threw \(description)"
                : "\(worker) (pid \(pid)): the work function threw \(type): \(description)"
        case .workerDied(let worker, let pid, let status):
            let how: String
            switch status {
            case .exited(let code)?: how = "exited with status \(code)"
            case .signaled(let signal)?: how = "was killed by signal \(signal) (\(signalName(signal)))"
            case nil: how = "died"
            }
            return "\(worker) (pid \(pid)) \(how) while running this task"
        case .initializerFailed(let worker, let description):
            return "the pool's initializer failed in \(worker): \(description)"
        case .terminated:
            return "the pool was terminated before this task finished"
        case .timeout(let duration):
            return "the result was not ready within \(duration)"
        case .notReady:
            return "the result is not ready yet"
        case .notRunning(let operation, let state):
            return "cannot \(operation): the pool is \(state)"
        case .joinWhileRunning:
            return "cannot join a running pool: call close() or terminate() first"
        case .notOwnedByThisProcess(let operation):
            return "cannot \(operation): the pool belongs to the process that created it"
        case .blockingCallInCallback(let operation):
            return "cannot \(operation) in a result callback: callbacks run on the pool's own thread"
        case .unencodableInput(let error):
            return "cannot send the input: \(error)"
        case .undecodableResult(let error):
            return "cannot decode the result: \(error)"
        case .broken(let reason):
            return "the pool is broken: \(reason)"
        case .cancelled:
            return "the wait was cancelled"
        case .workerStartFailed(let worker, let error):
            return "\(worker) could not be started: \(error)"
        case .system(let error):
            return error.description
        }
    }
}

/// The pool call that a ``PoolError`` is about; its description is how the error message names it.
public enum PoolOperation: String, Equatable, Sendable, CustomStringConvertible {
    /// ``Pool/apply(_:)-4syhj``.
    case apply
    /// ``Pool/applyAsync(_:onSuccess:onError:)``.
    case applyAsync
    /// ``Pool/map(_:chunkSize:)-s2jj``.
    case map
    /// ``Pool/mapAsync(_:chunkSize:onSuccess:onError:)``.
    case mapAsync
    /// ``Pool/imap(_:chunkSize:)``.
    case imap
    /// ``Pool/imapUnordered(_:chunkSize:)``.
    case imapUnordered
    /// `starmap`, the tuple form of ``Pool/map(_:chunkSize:)-s2jj``.
    case starmap
    /// `starmapAsync`, the tuple form of ``Pool/mapAsync(_:chunkSize:onSuccess:onError:)``.
    case starmapAsync
    /// ``Pool/join()``.
    case join
    /// ``AsyncResult/get(timeout:)-8dshw``.
    case getResult = "get a result"
    /// ``AsyncResult/wait(timeout:)``.
    case wait
    /// Iterating the ``PoolResults`` of ``imap`` or ``imapUnordered``.
    case iterateResults = "iterate results"

    public var description: String { rawValue }
}

/// Why a pool takes no more work, in ``PoolError/notRunning(operation:state:)``.
public enum PoolState: String, Equatable, Sendable, CustomStringConvertible {
    /// `close()` was called: queued tasks still run.
    case closed
    /// `terminate()` was called (or the pool was deallocated): the workers are stopped.
    case terminated

    public var description: String { rawValue }
}

/// Its `system` case wraps a failed system call (`try PoolError.wrapping { … }`).
extension PoolError: WrapsSystemError {}

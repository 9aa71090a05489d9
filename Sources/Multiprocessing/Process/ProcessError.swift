/// A misuse of a ``ChildProcess``, or a failure to create or wait for one.
public enum ProcessError: Error, Equatable, CustomStringConvertible, Sendable {
    /// `start()` was called on a process that was already started.
    case alreadyStarted(name: String)
    /// `join`, `terminate`, `kill`, `interrupt` or a wait for its end was called before `start()`.
    case notStarted(name: String, operation: ProcessOperation)
    /// `setDaemon(_:)` was called after `start()`.
    case daemonAfterStart(name: String)
    /// A daemonic process tried to start a child (its children would be orphaned when it is terminated).
    case daemonicProcessCannotStartChildren(name: String)
    /// The operation is only allowed in the process that created (or started) this ``ChildProcess`` object,
    /// e.g. a child that inherited a copy of its sibling's object tried to join it.
    case notOwnedByThisProcess(name: String, operation: ProcessOperation)
    /// A process tried to join itself, which would wait forever.
    case cannotJoinCurrentProcess
    /// A system call failed (fork, waitpid, ...).
    case system(SystemError)
    /// The task awaiting `join` (the async form) was cancelled; the child goes on.
    case cancelled
    /// The operation was called after ``ChildProcess/close()`` (Python's "process object is closed").
    case closed(name: String, operation: ProcessOperation)
    /// ``ChildProcess/close()`` was called while the child runs (Python's ValueError "Cannot close a
    /// process while it is still running").
    case stillRunning(name: String)

    public var description: String {
        switch self {
        case .alreadyStarted(let name):
            return "cannot start \(name): a process can only be started once"
        case .notStarted(let name, let operation):
            return "cannot \(operation) \(name): it has not been started"
        case .daemonAfterStart(let name):
            return "cannot change daemon of \(name): it has already been started"
        case .daemonicProcessCannotStartChildren(let name):
            return "\(name) is daemonic, and daemonic processes are not allowed to have children"
        case .notOwnedByThisProcess(let name, let operation):
            return "cannot \(operation) \(name): only the process that started it can"
        case .cannotJoinCurrentProcess:
            return "a process cannot join itself"
        case .system(let error):
            return error.description
        case .cancelled:
            return "the task awaiting the join was cancelled"
        case .closed(let name, let operation):
            return "cannot \(operation) \(name): the process object is closed"
        case .stillRunning(let name):
            return "cannot close \(name): it is still running; join or terminate it first"
        }
    }
}

/// The ``ChildProcess`` call that a ``ProcessError`` is about; its description is the call's name.
public enum ProcessOperation: String, Equatable, Sendable, CustomStringConvertible {
    /// ``ChildProcess/start()``.
    case start
    /// ``ChildProcess/join(timeout:)-98o0p``.
    case join
    /// ``ChildProcess/terminate()``.
    case terminate
    /// ``ChildProcess/kill()``.
    case kill
    /// ``ChildProcess/interrupt()``.
    case interrupt
    /// ``ChildProcess/setDaemon(_:)``.
    case setDaemon = "change daemon of"
    /// ``waitForAny(_:timeout:)``, waiting for the process to end.
    case wait = "wait for"

    public var description: String { rawValue }
}

/// Its `system` case wraps a failed system call (`try ProcessError.wrapping { … }`).
extension ProcessError: WrapsSystemError {}

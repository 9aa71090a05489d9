// Errors of Queue and JoinableQueue: Python's queue.Full and queue.Empty, misuse, and faults.

/// Why a queue operation did not happen.
public enum QueueError: Error, Equatable, CustomStringConvertible, Sendable {
    /// `put(timeout:)` after its timeout: the queue had no room (Python's `queue.Full`).
    case full
    /// `get(timeout:)` after its timeout: the queue had no item (Python's `queue.Empty`).
    case empty
    /// `put`, `get`, `tryPut` or `tryGet` through a queue object after this process called `close()` on it
    /// (or while one of them waited). ``JoinableQueue/taskDone()`` and `join()` still work after `close()`.
    case closed
    /// The item needs more bytes than the queue's ring holds (`byteCount`: its encoding, a 4-byte
    /// length, and padding to a multiple of 4): it could never fit, so `put` refuses it at once
    /// instead of waiting for ever. Make the queue with a larger `capacity`.
    case itemTooLarge(byteCount: Int, capacity: Int)
    /// The item could not be encoded; nothing was put.
    case unencodable(CodecError)
    /// An item could not be decoded into the queue's type; it was taken off the queue.
    case undecodable(CodecError)
    /// ``JoinableQueue/taskDone()`` was called more times than items were taken with `get`.
    case taskDoneTooManyTimes
    /// ``Queue/init(maxSize:capacity:)`` with a negative size.
    case invalidMaxSize(Int)
    /// ``Queue/init(maxSize:capacity:)`` outside the allowed range of bytes.
    case invalidCapacity(Int)
    /// The queue's shared bytes are not a valid ring: a process wrote over them. The queue cannot be used.
    case corrupted(String)
    /// Creating the queue's shared memory, or locking it, failed.
    case system(SystemError)
    /// The task awaiting `get`, `put` or `join` (the async forms) was cancelled: a `get` took no
    /// item, a `put` put nothing.
    case cancelled

    public var description: String {
        switch self {
        case .full:
            return "the queue is full"
        case .empty:
            return "the queue is empty"
        case .closed:
            return "the queue is closed in this process"
        case .itemTooLarge(let byteCount, let capacity):
            return "the item needs \(byteCount) bytes in the queue (its encoding and a 4-byte length), more than "
                + "its ring of \(capacity) bytes: it can never fit; make the queue with a larger capacity"
        case .unencodable(let error):
            return "cannot put the item: \(error)"
        case .undecodable(let error):
            return "cannot get the item: \(error)"
        case .taskDoneTooManyTimes:
            return "taskDone() called more times than items were taken from the queue"
        case .invalidMaxSize(let size):
            return "invalid queue maxSize \(size): it must be 0 (unbounded) or more"
        case .invalidCapacity(let capacity):
            return "invalid queue capacity \(capacity) bytes: it must be between \(QueueRing.minimumCapacity) "
                + "and \(QueueRing.maximumCapacity)"
        case .corrupted(let reason):
            return "the queue's shared memory is corrupted: \(reason)"
        case .system(let error):
            return error.description
        case .cancelled:
            return "the task awaiting the queue was cancelled"
        }
    }
}

/// Its `system` case wraps a failed system call (`try QueueError.wrapping { … }`).
extension QueueError: WrapsSystemError {}

// The evidence an exercise program leaves for its check: counters in a file that the check owns
// (its path comes in MP_EXERCISE_EVIDENCE), mapped shared, so every process of the program adds to
// the same numbers. The check reads them after the program has ended; printing cannot change them.

import Glibc
import Synchronization

/// The environment variable that names the evidence file.
public let evidenceVariable = "MP_EXERCISE_EVIDENCE"

/// Where each number lives in the evidence file: one Int64 per slot. The check reads the same layout.
public enum Slot {
    /// The pid of the process that called ``Exercise/run(_:)``: "main".
    public static let rootPid = 0
    /// 1 once `exercise()` returned normally in main.
    public static let finished = 1
    /// 1 when `exercise()` threw.
    public static let threw = 2
    /// How many forked children returned from `exercise()` (each should have ended itself).
    public static let childReturned = 3
    /// Children of main still there when `exercise()` returned: all of them, and the zombies among them.
    public static let childrenLeft = 4
    public static let zombiesLeft = 5
    /// How long `exercise()` took, in microseconds.
    public static let elapsedMicroseconds = 6
    /// Tasks running now, and the most that ever ran at once.
    public static let inside = 7
    public static let highWater = 8
    /// ``SharedCounter``: its value and how many times it was written.
    public static let counter = 9
    public static let counterWrites = 10
    /// Tasks that ran in main rather than in a child process.
    public static let tasksInMain = 11
    /// ``Kit/received(_:)`` called outside main.
    public static let receivedOutsideMain = 12
    /// ``Kit/prepare()`` finished; ``Kit/useData(_:)`` calls that came before it.
    public static let ready = 13
    public static let usedBeforeReady = 14
    /// Lines written by ``Kit/writeLine(_:)`` in child processes.
    public static let linesWrittenInChildren = 15
    /// ``Kit/received(_:)`` calls with a number that no ``Kit/work(_:milliseconds:)`` returned.
    public static let forgedResults = 16
    /// ``Kit/received(_:)`` calls with 0: a variable's value from before a fork, never written in main.
    public static let receivedZero = 17
    /// The pid of the process that ran ``Kit/buggyJob()`` (and crashed with it).
    public static let crashedPid = 18
    /// The pid of the process that ran ``Kit/runawayJob()``.
    public static let runawayPid = 19
    /// Forks made while a ``PosixThread`` of the forking process was still running.
    public static let forksBesideThreads = 20
    /// Child processes whose copy of ``Kit/log``'s lock was held when they first wrote to it.
    public static let logHeldInChild = 21
    /// Lines ``Kit/log`` wrote in main's process.
    public static let logLinesInMain = 22
    /// Per item (0..<``Slot/items``): times ``Kit/task(_:milliseconds:)`` completed it, times main
    /// received it, the pid that last ran it, attempts made at it, the result ``Kit/work(_:milliseconds:)``
    /// returned for it.
    public static let tasks = 64
    public static let received = tasks + items
    public static let taskPid = received + items
    public static let attempts = taskPid + items
    public static let results = attempts + items
    /// The item numbers the kit records.
    public static let items = 256
    /// The number of slots in the file.
    public static let count = results + items
    /// The file's size in bytes.
    public static let byteCount = count * 8
}

/// The mapped evidence slots: the file the check made, or (run without a check) anonymous shared memory.
struct EvidenceMap: @unchecked Sendable {
    let slots: UnsafeMutablePointer<Atomic<Int64>>

    static let shared = EvidenceMap()

    private init() {
        var address: UnsafeMutableRawPointer? = nil
        if let path = getenv(evidenceVariable) {
            let fd = open(path, O_RDWR | O_CLOEXEC)
            if fd >= 0 {
                if ftruncate(fd, off_t(Slot.byteCount)) == 0 {
                    let mapped = mmap(nil, Slot.byteCount, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                    if mapped != MAP_FAILED { address = mapped }
                }
                close(fd)
            }
        }
        if address == nil {
            let mapped = mmap(nil, Slot.byteCount, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
            guard let mapped, mapped != MAP_FAILED else { fatalError("cannot map the exercise's evidence") }
            address = mapped
        }
        slots = address!.bindMemory(to: Atomic<Int64>.self, capacity: Slot.count)
    }

    func load(_ slot: Int) -> Int64 { slots[slot].load(ordering: .sequentiallyConsistent) }
    func store(_ slot: Int, _ value: Int64) { slots[slot].store(value, ordering: .sequentiallyConsistent) }
    @discardableResult
    func add(_ slot: Int, _ value: Int64) -> Int64 {
        slots[slot].wrappingAdd(value, ordering: .sequentiallyConsistent).newValue
    }
    func raiseTo(_ slot: Int, _ value: Int64) {
        var current = load(slot)
        while current < value {
            let (exchanged, original) = slots[slot].compareExchange(
                expected: current, desired: value, ordering: .sequentiallyConsistent)
            if exchanged { return }
            current = original
        }
    }
}

/// Reads an evidence file after the run: the check's side of the layout.
public struct EvidenceReading: Sendable {
    public let values: [Int64]

    /// The slots of the file at `path`; all zero when it is missing or short.
    public init(path: String) {
        var values = [Int64](repeating: 0, count: Slot.count)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = values.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            close(fd)
        }
        self.values = values
    }

    public subscript(slot: Int) -> Int { Int(values[slot]) }

    /// The value of per-item slot `base` (e.g. ``Slot/tasks``) for each item `0..<count`.
    public func items(_ base: Int, count: Int) -> [Int] { (0..<count).map { self[base + $0] } }
}

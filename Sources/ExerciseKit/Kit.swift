// What exercise programs call: tasks whose running the check counts, a shared counter it reads back,
// and the wrapper that runs `exercise()` and notes how it ended. Everything goes through the evidence
// file, so a check never has to believe what a program prints.

import Glibc
import Multiprocessing

/// Runs an exercise's `exercise()` function: the generated `main` of every exercise program.
public enum Exercise {
    /// Runs `body` in main, records how it ended (returned, threw, children left behind, time taken),
    /// then ends the program with ``exitProcess(_:)`` (daemons are stopped, other children waited for).
    public static func run(_ body: () throws -> Void) -> Never {
        let evidence = EvidenceMap.shared  // mapped before any fork, so children share it
        noteForksBesideThreads()
        let root = getpid()
        evidence.store(Slot.rootPid, Int64(root))
        let start = monotonicMicroseconds()
        do {
            try body()
        } catch {
            if getpid() == root {
                evidence.store(Slot.threw, 1)
                writeStandardError("exercise() threw: \(error)\n")
                exitProcess(1)
            }
        }
        guard getpid() == root else {
            // A child made with forkProcess() that did not end itself came back here.
            evidence.add(Slot.childReturned, 1)
            exitProcess(0)
        }
        evidence.store(Slot.elapsedMicroseconds, monotonicMicroseconds() - start)
        let children = ProcessStat.all().filter { $0.parentPid == root }
        evidence.store(Slot.childrenLeft, Int64(children.count))
        evidence.store(Slot.zombiesLeft, Int64(children.filter { $0.state == "Z" }.count))
        evidence.store(Slot.finished, 1)
        exitProcess(0)
    }
}

/// The work of the exercises, counted by the check.
public enum Kit {
    /// Whether the caller is a child process (not the one that runs `exercise()`).
    public static var inChildProcess: Bool {
        Int64(getpid()) != EvidenceMap.shared.load(Slot.rootPid)
    }

    /// Does task `item` (0 to 255): sleeps `milliseconds`, counted as running meanwhile; the check
    /// sees how many tasks ran at once, which process ran each, and how often each was done.
    public static func task(_ item: Int, milliseconds: Int = 0) {
        let evidence = EvidenceMap.shared
        let now = evidence.add(Slot.inside, 1)
        evidence.raiseTo(Slot.highWater, now)
        if milliseconds > 0 { sleep(milliseconds: milliseconds) }
        evidence.add(Slot.inside, -1)
        guard (0..<Slot.items).contains(item) else { return }
        evidence.add(Slot.tasks + item, 1)
        evidence.store(Slot.taskPid + item, Int64(getpid()))
        if !inChildProcess { evidence.add(Slot.tasksInMain, 1) }
    }

    /// Does task `item` (as ``task(_:milliseconds:)``) and returns its result: a number that only
    /// this call knows (it holds the item and a random part), so a result cannot be made up elsewhere.
    public static func work(_ item: Int, milliseconds: Int = 0) -> Int {
        task(item, milliseconds: milliseconds)
        let result = Int.random(in: 1...1_000_000) * Slot.items + (item & (Slot.items - 1))
        if (0..<Slot.items).contains(item) { EvidenceMap.shared.store(Slot.results + item, Int64(result)) }
        return result
    }

    /// Says that main now holds `result`, a number returned by ``work(_:milliseconds:)``: the check
    /// counts it only when main calls this, with a result that work really returned.
    public static func received(_ result: Int) {
        let evidence = EvidenceMap.shared
        let item = result & (Slot.items - 1)
        if result == 0 { evidence.add(Slot.receivedZero, 1) }
        if inChildProcess {
            evidence.add(Slot.receivedOutsideMain, 1)
        } else if result > 0 && evidence.load(Slot.results + item) == Int64(result) {
            evidence.add(Slot.received + item, 1)
        } else {
            evidence.add(Slot.forgedResults, 1)
        }
    }

    /// Prepares the data that ``useData(_:)`` needs: takes about 300 ms.
    public static func prepare() {
        sleep(milliseconds: 300)
        EvidenceMap.shared.store(Slot.ready, 1)
    }

    /// Uses the prepared data for task `item`; the check notes a use before ``prepare()`` finished.
    public static func useData(_ item: Int) {
        if EvidenceMap.shared.load(Slot.ready) == 0 { EvidenceMap.shared.add(Slot.usedBeforeReady, 1) }
        task(item)
    }

    /// A task that fails (throws) on the first attempt at item 2 and succeeds at every other.
    public static func flakyTask(_ item: Int) throws {
        let attempt = (0..<Slot.items).contains(item) ? EvidenceMap.shared.add(Slot.attempts + item, 1) : 1
        if item == 2 && attempt == 1 { throw FlakyFailure(item: item) }
        task(item)
    }

    /// ``work(_:milliseconds:)`` with 50 ms, except for item 5: that one kills the process running it
    /// (as `kill -9` or the kernel's out-of-memory killer would).
    public static func crashOnFive(_ item: Int) -> Int {
        if item == 5 { kill(getpid(), SIGKILL) }
        return work(item, milliseconds: 50)
    }

    /// Writes `line` and a newline to standard output in small pieces, 1 ms apart, with one
    /// `write` call per piece: another process's pieces can land in between.
    public static func writeLine(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(10)
        var start = 0
        while start < bytes.count {
            let end = min(start + 4, bytes.count)
            _ = bytes[start..<end].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            start = end
            if start < bytes.count { sleep(milliseconds: 1) }
        }
        if inChildProcess { EvidenceMap.shared.add(Slot.linesWrittenInChildren, 1) }
    }

    /// Writes out what `print` has buffered (C's `fflush`), as the book's `flushStandardOutput()` does.
    public static func flushStandardOutput() {
        fflush(nil)
    }

    /// The shared counter: one number that every process of the program sees (``SharedCounter``).
    public static let counter = SharedCounter()

    static func sleep(milliseconds: Int) {
        var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// The error of ``Kit/flakyTask(_:)``'s failing attempt.
public struct FlakyFailure: Error, CustomStringConvertible {
    public let item: Int
    public var description: String { "task \(item) failed (it may work if you try again)" }
}

/// A number in memory shared by every process of the program, with no lock of its own: reading it
/// and writing it back are two steps, and a read takes 2 µs (as if the number had to be fetched from
/// far away), so another process's write in between is near certain and updates without a lock are
/// lost. The wait is a busy one: under a lock, the holder keeps its processor, so the fix stays fast
/// on a loaded machine (a yield there would hand the processor away while others wait for the lock).
public struct SharedCounter: Sendable {
    /// The current value. Setting it counts as one write.
    public var value: Int {
        get {
            let value = EvidenceMap.shared.load(Slot.counter)
            let start = monotonicNanoseconds()
            while monotonicNanoseconds() - start < 2_000 {}
            return Int(value)
        }
        nonmutating set {
            EvidenceMap.shared.store(Slot.counter, Int64(newValue))
            EvidenceMap.shared.add(Slot.counterWrites, 1)
        }
    }
}

private func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

private func monotonicMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}

/// Writes `text` to standard error (fd 2) at once.
func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

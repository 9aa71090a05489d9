// Shared by every fault, soak, parent-death and signal-storm test: seeded randomness whose seed is
// printed on failure, bounded waits, and one /proc-based check that nothing was left behind.

import Glibc
import MultiprocessingTestSupport
import XCTest

@testable import Multiprocessing

/// A seeded random source for a fault test. The seed comes from MP_FAULT_SEED when set (to replay a
/// failure), otherwise it is fresh; `describe` is put into every assertion message.
struct FaultRandom: RandomNumberGenerator {
    let seed: UInt64
    private var generator: SplitMix64

    init(_ test: String) {
        seed = Sys.environment("MP_FAULT_SEED").flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        generator = SplitMix64(seed: seed)
        print("\(test): seed \(seed) (replay with MP_FAULT_SEED=\(seed))")
    }

    /// "seed N": appended to assertion messages so that a failure names its seed.
    var describe: String { "seed \(seed), replay with MP_FAULT_SEED=\(seed)" }

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &generator) }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &generator) < probability }
    mutating func microseconds(_ range: ClosedRange<Int>) -> Duration { .microseconds(int(range)) }
    mutating func next() -> UInt64 { generator.next() }
}

/// What this process had open and running before a workload, to compare with after it:
/// the one "nothing left behind" check every fault test uses.
struct Leftovers {
    private let descriptors: [Int32: String]
    private let processes: Set<pid_t>

    /// Takes the baseline: open descriptors (with what they point at) and every process of this
    /// test program in our process group (leftovers of earlier tests are not blamed on this one).
    init() {
        descriptors = Self.openDescriptors()
        processes = Set(Self.programProcesses().map(\.pid))
    }

    /// This process's open descriptors and their targets, from /proc/self/fd.
    static func openDescriptors() -> [Int32: String] {
        guard let directory = opendir("/proc/self/fd") else { return [:] }
        let own = dirfd(directory)
        var names: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let fd = Int32(name), fd != own { names.append(fd) }
        }
        closedir(directory)
        var result: [Int32: String] = [:]
        for fd in names {
            var buffer = [CChar](repeating: 0, count: 256)
            let length = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
            result[fd] =
                length > 0 ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        }
        return result
    }

    /// Every process in /proc running this test program in our process group, other than us and
    /// our ancestors: our children, their children, and orphans re-parented elsewhere.
    static func programProcesses() -> [ProcessStat] {
        let me = ProcessStat(pid: getpid())
        var ancestors: Set<pid_t> = [getpid()]
        var pid = getppid()
        while pid > 1, let info = ProcessStat(pid: pid) {
            ancestors.insert(pid)
            pid = info.parentPid
        }
        return ProcessStat.all().filter {
            !ancestors.contains($0.pid) && $0.processGroup == me?.processGroup && $0.command == me?.command
        }
    }

    /// What is left now that was not there at the baseline, waiting up to `within` for processes
    /// that are dying to go: living descendants or orphans, zombies we have not reaped, children
    /// the runtime still tracks, and new descriptors. Empty when nothing is left.
    func problems(within timeout: Duration = .seconds(5)) -> [String] {
        var found: [String] = []
        var extra: [ProcessStat] = []
        _ = waitUntil(timeout: timeout) {
            extra = Self.programProcesses().filter { !processes.contains($0.pid) }
            // An orphan zombie is for its new parent (init) to reap; ours are counted below.
            extra.removeAll { $0.state == "Z" && $0.parentPid != getpid() }
            return extra.isEmpty && ProcessTable.shared.unreapedChildren.isEmpty
        }
        for process in extra {
            found.append(
                process.state == "Z"
                    ? "zombie child \(process.pid) not reaped"
                    : "process \(process.pid) (parent \(process.parentPid), state \(process.state)) still running")
        }
        let tracked = ProcessTable.shared.unreapedChildren
        if !tracked.isEmpty {
            found.append("the runtime still tracks \(tracked.count) unreaped children: \(tracked.map(\.name))")
        }
        let now = Self.openDescriptors()
        // XCTest's Dispatch makes a timer descriptor of its own at some point; the runtime never does.
        for (fd, target) in now.sorted(by: { $0.key < $1.key })
        where descriptors[fd] != target && target != "anon_inode:[timerfd]" {
            found.append("descriptor \(fd) -> \(target) left open")
        }
        return found
    }

    /// Asserts that nothing is left; kills and reaps what is, so one failure does not cascade.
    func assertNothingLeft(
        _ context: String, within timeout: Duration = .seconds(5),
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let found = problems(within: timeout)
        XCTAssertEqual(found, [], context, file: file, line: line)
        if !found.isEmpty {
            for process in Self.programProcesses() where !processes.contains(process.pid) {
                kill(process.pid, SIGKILL)
            }
            for child in ProcessTable.shared.unreapedChildren {
                try? child.kill()
                _ = try? child.join()
            }
        }
    }
}

/// Runs `body` on a plain thread and waits at most `bound` for it. Returns its result, or nil when
/// it did not finish in time (a hang: the thread is abandoned, the test fails instead of hanging).
func bounded<T: Sendable>(_ bound: Duration, _ body: @escaping @Sendable () -> T) -> T? {
    let box = BoundedBox<T>()
    let thread = TestThread {
        let value = body()
        box.mutex.withLock {
            box.value = value
            box.done = true
        }
    }
    let deadline = ContinuousClock.now + bound
    while ContinuousClock.now < deadline {
        if box.mutex.withLock({ box.done }) {
            thread.join()
            return box.mutex.withLock { box.value }
        }
        Sys.sleep(for: .milliseconds(1))
    }
    return nil
}

private final class BoundedBox<T>: @unchecked Sendable {
    let mutex = LocalMutex()
    var value: T?
    var done = false
}

/// True when this test binary runs under a sanitizer (`make sanitize`): forking a sanitized process
/// copies gigabytes of shadow mappings, and the allocator's quarantine makes RSS meaningless, so the
/// soak tests scale their counts down and skip the RSS bound there (and say so).
let underSanitizer: Bool = {
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil
        || dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil
}()

// The one "nothing left behind" check of the fault, soak and signal tests: descriptors and
// processes before a workload, compared with after it. The assertion that wraps it is in the
// test target (it needs XCTest).

import Glibc
import Multiprocessing

/// What this process had open and running before a workload, to compare with after it:
/// the one "nothing left behind" check every fault test uses.
package struct Leftovers {
    private let descriptors: [Int32: String]
    private let processes: Set<pid_t>

    /// Takes the baseline: open descriptors (with what they point at) and every process of this
    /// test program in our process group (leftovers of earlier tests are not blamed on this one).
    package init() {
        descriptors = Self.openDescriptors()
        processes = Set(Self.programProcesses().map(\.pid))
    }

    /// This process's open descriptors and their targets, from /proc/self/fd.
    package static func openDescriptors() -> [Int32: String] {
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
    package static func programProcesses() -> [ProcessStat] {
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
    package func problems(within timeout: Duration = .seconds(5)) -> [String] {
        var found: [String] = []
        var extra: [ProcessStat] = []
        _ = waitUntil(timeout: timeout) {
            extra = Self.programProcesses().filter { !processes.contains($0.pid) }
            // An orphan zombie is for its new parent (init) to reap; ours are counted below.
            extra.removeAll { $0.state == "Z" && $0.parentPid != getpid() }
            return extra.isEmpty && ProcessTable.unreapedChildren.isEmpty
        }
        for process in extra {
            found.append(
                process.state == "Z"
                    ? "zombie child \(process.pid) not reaped"
                    : "process \(process.pid) (parent \(process.parentPid), state \(process.state)) still running")
        }
        let tracked = ProcessTable.unreapedChildren
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

    /// Kills what is left (processes not there at the baseline, children the runtime still
    /// tracks) and reaps the runtime's children, so that one failure does not cascade.
    package func killWhatIsLeft() {
        for process in Self.programProcesses() where !processes.contains(process.pid) {
            kill(process.pid, SIGKILL)
        }
        for child in ProcessTable.unreapedChildren {
            try? child.kill()
            _ = try? child.join()
        }
    }
}

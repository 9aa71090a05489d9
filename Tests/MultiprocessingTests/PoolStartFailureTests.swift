import Glibc
import MultiprocessingTestSupport
import XCTest

@testable import Multiprocessing

/// A pool whose worker cannot be started, for real: in a throwaway child whose user may own only a
/// few tasks (RLIMIT_NPROC), the zygote's fork of a worker fails with EAGAIN.
final class PoolStartFailureTests: XCTestCase {
    /// The child may own 3 tasks more than it has: the pool's I/O thread, the zygote and one worker.
    /// Its pool asks for 3 workers, so the zygote's second fork fails. `Pool()` returns before its
    /// workers are forked; `join()` must throw `workerStartFailed` once the worker it started and the
    /// zygote are gone (Python's `Pool()` terminates the workers it started, then raises), and a
    /// later call must throw it too. Every fork is reported (the runtime's fork observer), so the
    /// test knows each pid of the pool and checks in /proc that none is left.
    func testAWorkerThatCannotBeForkedFailsThePoolAndLeavesNoProcess() throws {
        let report = try ReportPipe()
        let leftovers = Leftovers()
        let uid = try unusedUserID()
        let child = ChildProcess {
            if let refusal = Self.becomeTheOnlyProcessOfItsUser(uid) {
                report.write("skip \(refusal)\n")
                return
            }
            let tasks = rlim_t(Self.threadCount() + 3)
            var limit = rlimit(rlim_cur: tasks, rlim_max: tasks)
            guard setrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &limit) == 0 else {
                report.write("setrlimit failed \(errno)\n")
                return
            }
            ProcessTable.install(ForkObserver { pid in report.write("forked \(pid)\n") })
            let descriptors = Leftovers.openDescriptors()
            let pool: Pool<Int, Int>
            do throws(PoolError) {
                pool = try Pool(processes: 3) { (x: Int) in x }
            } catch {
                report.write("other \(error)\n")
                return
            }
            pool.close()
            do throws(PoolError) {
                try pool.join()
                report.write("joined a pool of \(pool.processes)\n")
            } catch .workerStartFailed(let worker, let error) {
                report.write("failed \(worker) \(error.call) \(error.errno)\n")
                report.write("description \(PoolError.workerStartFailed(worker: worker, error: error))\n")
                report.write("children \(Self.children().count)\n")
                let leaked = Leftovers.openDescriptors().filter { descriptors[$0.key] != $0.value }
                report.write("leaked descriptors \(leaked.count)\n")
            } catch {
                report.write("other \(error)\n")
            }
            do throws(PoolError) {
                _ = try pool.apply(1)
                report.write("later call succeeded\n")
            } catch .workerStartFailed {
                report.write("later call refused\n")
            } catch {
                report.write("later call \(error)\n")
            }
        }
        try child.start()
        let ended = try child.join(timeout: Duration.seconds(60))
        XCTAssertTrue(ended, "the pool's join() returned or threw within 60 s")
        if !ended {
            try child.kill()
            try child.join()
        }
        XCTAssertEqual(child.exitCode, 0)
        // Before reading to end of file: a pool process left would hold the pipe open (it is killed).
        leftovers.assertNothingLeft("after a pool that could not start its workers")
        let lines = try report.readAll().split(separator: "\n").map(String.init)
        if let skip = lines.first(where: { $0.hasPrefix("skip ") }) { throw XCTSkip(String(skip.dropFirst(5))) }

        let forked = lines.filter { $0.hasPrefix("forked ") }.compactMap { pid_t($0.dropFirst(7)) }
        XCTAssertGreaterThanOrEqual(forked.count, 2, "the zygote and at least one worker were forked: \(lines)")
        let failure = lines.first { $0.hasPrefix("failed ") }
        XCTAssertNotNil(failure, "join() threw workerStartFailed: \(lines)")
        if let failure {
            let fields = failure.split(separator: " ")
            XCTAssertTrue(fields[1].hasPrefix("PoolWorker-"), failure)
            XCTAssertEqual(fields[2], "fork", failure)
            XCTAssertEqual(Int32(fields[3]), EAGAIN, failure)
        }
        let description = lines.first { $0.hasPrefix("description ") }
        XCTAssertTrue(
            description?.hasSuffix(
                "could not be started: fork failed: \(String(cString: strerror(EAGAIN))) (errno \(EAGAIN))")
                ?? false, "\(lines)")
        XCTAssertTrue(lines.contains("children 0"), "join() threw with no child of the child left: \(lines)")
        XCTAssertTrue(lines.contains("later call refused"), "a call after the failure throws it: \(lines)")
        XCTAssertTrue(lines.contains("leaked descriptors 0"), "the pool's sockets were closed: \(lines)")
        for pid in forked {
            XCTAssertNil(processState(pid), "pool process \(pid) is gone (/proc/\(pid))")
        }
    }

    /// A uid no process has (root is never limited by RLIMIT_NPROC; the child takes this one), or
    /// nil when the test does not run as root (the child then takes a new user namespace instead).
    private func unusedUserID() throws -> uid_t? {
        guard geteuid() == 0 else { return nil }
        var used = Set<uid_t>()
        for process in ProcessStat.all() {
            var info = stat()
            if stat("/proc/\(process.pid)", &info) == 0 { used.insert(info.st_uid) }
        }
        return try XCTUnwrap((61_000..<62_000).map { uid_t($0) }.first { !used.contains($0) })
    }

    /// Makes this process the only one its user's RLIMIT_NPROC counts: as root it becomes `uid`
    /// (real, effective and saved), which no process has; otherwise it enters a new user namespace,
    /// where its user's count starts from this process. Returns why it could not, or nil.
    private static func becomeTheOnlyProcessOfItsUser(_ uid: uid_t?) -> String? {
        if let uid {
            return setuid(uid) == 0 ? nil : "setuid failed: errno \(errno)"
        }
        // unshare(2) is not in the Glibc module (it needs _GNU_SOURCE): look it up.
        typealias Unshare = @convention(c) (Int32) -> Int32
        let cloneNewUser: Int32 = 0x1000_0000
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "unshare") else { return "no unshare in libc" }
        let unshare = unsafeBitCast(symbol, to: Unshare.self)
        return unshare(cloneNewUser) == 0 ? nil : "no user namespace for an unprivileged user: errno \(errno)"
    }

    /// This process's threads (the entries of /proc/self/task).
    private static func threadCount() -> Int {
        guard let directory = opendir("/proc/self/task") else { return 1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != CChar(UInt8(ascii: ".")) { count += 1 }
        }
        return max(count, 1)
    }

    /// This process's children, living or zombies (from /proc).
    private static func children() -> [pid_t] {
        ProcessStat.all().filter { $0.parentPid == getpid() }.map(\.pid)
    }
}

import Glibc
import Synchronization
import XCTest

@testable import Multiprocessing

/// The shared-memory layer: regions, the robust mutex, the futex condition.
final class SharedMemoryTests: XCTestCase {
    /// Lines of /proc/self/maps: one per mapping of this process.
    private func mappingCount() -> Int {
        guard let file = fopen("/proc/self/maps", "r") else { return -1 }
        defer { fclose(file) }
        var lines = 0
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), file) != nil { lines += 1 }
        return lines
    }

    func testLayoutAlignsFieldsAndRegionIsZeroFilled() throws {
        var layout = SharedLayout()
        let byte = layout.reserve(UInt8.self)
        let word = layout.reserve(UInt64.self)
        let array = layout.reserve(Double.self, count: 1000)
        layout.startCacheLine()
        let line = layout.reserve(UInt32.self)
        XCTAssertEqual(byte.offset, 0)
        XCTAssertEqual(word.offset, 8)
        XCTAssertEqual(array.offset, 16)
        XCTAssertEqual(line.offset % 64, 0)
        let memory = try SharedMemory(layout)
        XCTAssertEqual(Int(bitPattern: memory.base) % Sys.pageSize, 0)
        XCTAssertEqual(UnsafeBufferPointer(start: memory.pointer(to: array), count: 1000).reduce(0, +), 0)
    }

    func testChildWritesAreSeenByTheParent() throws {
        var layout = SharedLayout()
        let counter = layout.reserve(Atomic<Int>.self)
        let memory = try SharedMemory(layout)
        let value = memory.pointer(to: counter)
        value.initialize(to: Atomic(0))
        let children = (0..<2).map { _ in
            ChildProcess { for _ in 0..<10_000 { value.pointee.add(1, ordering: .relaxed) } }
        }
        for child in children { try child.start() }
        for child in children { try child.join() }
        XCTAssertEqual(children.map(\.exitCode), [0, 0])
        XCTAssertEqual(value.pointee.load(ordering: .relaxed), 20_000)
    }

    func testRegionsAreAnonymousAndUnmappedWhenTheirObjectDies() throws {
        let before = mappingCount()
        let shmBefore = try directoryEntries("/dev/shm")
        for _ in 0..<200 {
            let memory = try SharedMemory(byteCount: 100_000)
            memory.base.storeBytes(of: 1, as: UInt8.self)
        }
        XCTAssertEqual(mappingCount(), before)
        XCTAssertEqual(try directoryEntries("/dev/shm"), shmBefore)
    }

    private func directoryEntries(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            names.append(
                withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        return names.sorted()
    }

    // MARK: SharedMutex

    /// A mutex and a plain (non-atomic) counter in one region.
    private func mutexAndCounter() throws -> (SharedMutex, UnsafeMutablePointer<Int>, SharedMemory) {
        var layout = SharedLayout()
        let mutexField = SharedMutex.reserve(in: &layout)
        let counterField = layout.reserve(Int.self)
        let memory = try SharedMemory(layout)
        return (try SharedMutex(initializing: mutexField, in: memory), memory.pointer(to: counterField), memory)
    }

    func testMutexKeepsAPlainCounterExactAcrossProcesses() throws {
        let (mutex, counter, _) = try mutexAndCounter()
        let children = (0..<3).map { _ in
            ChildProcess {
                for _ in 0..<20_000 {
                    mutex.withLock { _ in counter.pointee += 1 }
                }
            }
        }
        for child in children { try child.start() }
        for child in children { try child.join() }
        XCTAssertEqual(children.map(\.exitCode), [0, 0, 0])
        XCTAssertEqual(counter.pointee, 60_000)
    }

    func testOwnerKilledWhileHoldingIsRecoveredAndReported() throws {
        let (mutex, counter, _) = try mutexAndCounter()
        let report = try ReportPipe()
        let holder = ChildProcess {
            try mutex.lock()
            counter.pointee = 41  // half-way through an update...
            report.write("locked\n")
            kill(getpid(), SIGKILL)
        }
        try holder.start()
        XCTAssertEqual(try report.readAll(), "locked\n")
        let (acquisition, waited) = try timed { try mutex.lock(until: Deadline(timeout: .seconds(5))) }
        XCTAssertEqual(acquisition, .recoveredFromDeadOwner)
        XCTAssertLessThan(waited, .seconds(5))
        try mutex.unlock()
        // Consistent again: the next lock is ordinary.
        XCTAssertEqual(try mutex.lock(), .acquired)
        try mutex.unlock()
        try holder.join()
        XCTAssertEqual(holder.exitCode, -SIGKILL)
    }

    /// A child holds the mutex until told to let go.
    private func holdInChild(_ mutex: SharedMutex) throws -> (ChildProcess, letGo: ReportPipe) {
        let held = try ReportPipe()
        let letGo = try ReportPipe()
        let holder = ChildProcess {
            try mutex.lock()
            held.write("held\n")
            _ = try Sys.read(letGo.readEnd, upTo: 1)
            try mutex.unlock()
        }
        try holder.start()
        XCTAssertEqual(try held.readLine(), "held")
        return (holder, letGo)
    }

    func testTimedLockTimesOutThenSucceedsWhenReleased() throws {
        let (mutex, _, _) = try mutexAndCounter()
        let (holder, letGo) = try holdInChild(mutex)
        let (result, waited) = try timed { try mutex.lock(until: Deadline(timeout: .milliseconds(200))) }
        XCTAssertNil(result)
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(200))
        XCTAssertLessThan(waited, .milliseconds(2200))
        XCTAssertNil(try mutex.tryLock())
        letGo.write("!")
        XCTAssertEqual(try mutex.lock(until: Deadline(timeout: .seconds(5))), .acquired)
        try mutex.unlock()
        try holder.join()
        XCTAssertEqual(holder.exitCode, 0)
    }

    func testSignalsDoNotShortenOrRestartATimedLock() throws {
        let (mutex, _, _) = try mutexAndCounter()
        let (holder, letGo) = try holdInChild(mutex)
        let report = try ReportPipe()
        let waiter = ChildProcess {
            catchSignalWithoutRestart(SIGUSR1)
            report.write("ready\n")
            let (result, waited) = try timed { try mutex.lock(until: Deadline(timeout: .milliseconds(300))) }
            report.write("\(result == nil) \(waited >= .milliseconds(300)) \(waited < .milliseconds(2300))\n")
        }
        try waiter.start()
        XCTAssertEqual(try report.readLine(), "ready")
        let sent = pester(waiter.pid!, with: SIGUSR1) { !waiter.isAlive }
        XCTAssertGreaterThan(sent, 2)
        XCTAssertEqual(try report.readAll(), "true true true\n")
        letGo.write("!")
        try holder.join()
    }

    // MARK: SharedCondition

    private func mutexAndCondition() throws -> (SharedMutex, SharedCondition, UnsafeMutablePointer<Int>) {
        var layout = SharedLayout()
        let mutexField = SharedMutex.reserve(in: &layout)
        let conditionFields = SharedCondition.reserve(in: &layout)
        let flagField = layout.reserve(Int.self)
        let memory = try SharedMemory(layout)
        return (
            try SharedMutex(initializing: mutexField, in: memory),
            SharedCondition(initializing: conditionFields, in: memory), memory.pointer(to: flagField)
        )
    }

    func testNotifyWakesAWaiterInAnotherProcess() throws {
        let (mutex, condition, flag) = try mutexAndCondition()
        let report = try ReportPipe()
        let waiter = ChildProcess {
            try mutex.withLock { _ throws(SystemError) in
                while flag.pointee == 0 {
                    _ = try condition.wait(releasing: mutex, until: Deadline(timeout: .seconds(10)))
                }
            }
            report.write("saw \(flag.pointee)\n")
        }
        try waiter.start()
        waitUntilSleeping(waiter.pid!)
        mutex.withLock { _ in
            flag.pointee = 7
            condition.notify()
        }
        XCTAssertEqual(try report.readAll(), "saw 7\n")
        try waiter.join()
    }

    func testWaitTimesOutWithoutANotify() throws {
        let (mutex, condition, _) = try mutexAndCondition()
        try mutex.lock()
        let ((notified, relock), waited) = try timed {
            try condition.wait(releasing: mutex, until: Deadline(timeout: .milliseconds(150)))
        }
        try mutex.unlock()
        XCTAssertFalse(notified)
        XCTAssertEqual(relock, .acquired)
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(150))
        XCTAssertLessThan(waited, .milliseconds(2150))
    }

    /// The glibc condvar failure: a waiter killed mid-wait swallows the wake-up meant for another.
    func testKilledWaiterDoesNotSwallowTheNotification() throws {
        let (mutex, condition, _) = try mutexAndCondition()
        let report = try ReportPipe()
        func waiter(_ name: String) -> ChildProcess {
            ChildProcess {
                try mutex.lock()
                let (notified, _) = try condition.wait(releasing: mutex, until: Deadline(timeout: .seconds(20)))
                try mutex.unlock()
                report.write("\(name) notified: \(notified)\n")
            }
        }
        func waitForWaiters(_ count: Int) {
            let deadline = ContinuousClock.now + .seconds(10)
            while condition.waiterCount < count && ContinuousClock.now < deadline { Sys.sleep(for: .milliseconds(1)) }
        }
        let doomed = waiter("doomed")
        try doomed.start()
        waitForWaiters(1)
        waitUntilSleeping(doomed.pid!)
        try doomed.kill()
        try doomed.join()
        let survivor = waiter("survivor")
        try survivor.start()
        waitForWaiters(2)  // the dead waiter stays counted; the survivor has registered
        waitUntilSleeping(survivor.pid!)
        let (_, waited) = try timed {
            mutex.withLock { _ in condition.notify(1) }
            try survivor.join()
        }
        XCTAssertEqual(try report.readAll(), "survivor notified: true\n")
        XCTAssertLessThan(waited, .seconds(10))
    }
}

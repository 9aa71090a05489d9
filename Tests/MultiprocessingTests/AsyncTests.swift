import Glibc
import Synchronization
import XCTest

@testable import Multiprocessing

/// How many threads the awaits of a test may add: the cooperative pool may grow to one thread per
/// online CPU when many tasks start, and the runtime starts a few of its own.
private let allowedNewThreads = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) + 12

/// Threads of this process right now (from /proc/self/task).
private func threadCount() -> Int {
    guard let directory = opendir("/proc/self/task") else { return -1 }
    defer { closedir(directory) }
    var count = 0
    while readdir(directory) != nil { count += 1 }
    return count - 2  // "." and ".."
}

/// Fails unless at least `count` awaits become suspended in the runtime (polling up to 30 s).
private func expectSuspended(_ count: Int, file: StaticString = #filePath, line: UInt = #line) async {
    let deadline = ContinuousClock.now + .seconds(30)
    while AsyncWaits.shared.counts.waiters < count {
        if ContinuousClock.now > deadline { return XCTFail("\(count) awaits never suspended", file: file, line: line) }
        try? await Task.sleep(for: .milliseconds(2))
    }
}

/// True once at least `count` awaits are suspended, for a synchronous test (off the cooperative pool).
private func suspendedBlocking(_ count: Int, within limit: Duration = .seconds(30)) -> Bool {
    let deadline = ContinuousClock.now + limit
    while AsyncWaits.shared.counts.waiters < count {
        if ContinuousClock.now > deadline { return false }
        Sys.sleep(for: .milliseconds(2))
    }
    return true
}

/// The async forms: many concurrent awaits, cancellation that loses nothing, timeouts, and a
/// cooperative pool that stays free while tasks await.
final class AsyncTests: XCTestCase {
    // MARK: Many awaits at once

    func testHundredsOfTasksAwaitGetsFedByAChild() async throws {
        let queue = try Queue<Int>()
        let count = 300
        let threadsBefore = threadCount()
        let feeder = ChildProcess { for value in 0..<count { try queue.put(value) } }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<count { group.addTask { try await queue.get() } }
            await expectSuspended(count)
            XCTAssertLessThan(threadCount(), threadsBefore + allowedNewThreads, "\(count) awaits, not \(count) threads")
            XCTAssertLessThanOrEqual(AsyncWaits.shared.counts.threads, AsyncWaits.maxWaitingThreads + 1)
            try feeder.start()
            var received: [Int] = []
            for try await value in group { received.append(value) }
            XCTAssertEqual(received.sorted(), Array(0..<count))
        }
        let ended = try await feeder.join(timeout: .seconds(30))
        XCTAssertTrue(ended)
        XCTAssertTrue(queue.isEmpty)
    }

    func testManyTasksAwaitTheJoinsOfManyChildren() async throws {
        let release = try Event()
        let children = (0..<30).map { index in
            ChildProcess {
                _ = release.wait(timeout: .seconds(60))
                exitProcess(Int32(index % 4))
            }
        }
        for child in children { try child.start() }
        let threadsBefore = threadCount()
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for child in children {
                for _ in 0..<4 { group.addTask { try await child.join() } }
            }
            await expectSuspended(120)
            XCTAssertLessThan(threadCount(), threadsBefore + allowedNewThreads, "120 awaits, not 120 threads")
            XCTAssertLessThanOrEqual(AsyncWaits.shared.counts.threads, AsyncWaits.maxWaitingThreads + 1)
            release.set()
            var joins = 0
            for try await ended in group {
                XCTAssertTrue(ended)
                joins += 1
            }
            XCTAssertEqual(joins, 120)
        }
        for (index, child) in children.enumerated() { XCTAssertEqual(child.exitCode, Int32(index % 4)) }
    }

    func testReceivesOnManyConnections() async throws {
        let pairs = try (0..<100).map { _ in try Connection<String>.makePipe() }
        let sender = ChildProcess {
            for (index, pair) in pairs.enumerated().reversed() { try pair.1.send("message \(index)") }
        }
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (index, pair) in pairs.enumerated() { group.addTask { (index, try await pair.0.receive()) } }
            await expectSuspended(100)
            try sender.start()
            var received = 0
            for try await (index, message) in group {
                XCTAssertEqual(message, "message \(index)")
                received += 1
            }
            XCTAssertEqual(received, 100)
        }
        let ended = try await sender.join(timeout: .seconds(30))
        XCTAssertTrue(ended)
    }

    func testMoreQueuesThanWaitingThreadsTakeTurns() async throws {
        let queues = try (0..<(AsyncWaits.maxWaitingThreads + 4)).map { _ in try Queue<Int>() }
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for (index, queue) in queues.enumerated() { group.addTask { (index, try await queue.get()) } }
            await expectSuspended(queues.count)
            XCTAssertLessThanOrEqual(AsyncWaits.shared.counts.threads, AsyncWaits.maxWaitingThreads + 1)
            for (index, queue) in queues.enumerated() { try await queue.put(index * 10) }
            for try await (index, value) in group { XCTAssertEqual(value, index * 10) }
        }
    }

    // MARK: The cooperative pool stays free

    /// A synchronous test, so that it can watch the cooperative pool from outside: if each await
    /// held a thread, the tasks (many more than cores) would take the whole pool, and the one that
    /// reports progress would never run.
    func testAwaitingTasksLeaveTheCooperativePoolFree() throws {
        let queue = try Queue<Int>()
        let reports = try Queue<Int>()
        let awaiting = 8 * max(cpuCount(), 2)
        for _ in 0..<awaiting {
            Task.detached {
                let value = try await queue.get()
                try await reports.put(value)
            }
        }
        XCTAssertTrue(suspendedBlocking(awaiting))
        Task.detached { try await reports.put(-1) }
        XCTAssertEqual(try reports.get(timeout: .seconds(30)), -1, "another task ran while \(awaiting) awaited")
        let feeder = ChildProcess { for value in 0..<awaiting { try queue.put(value) } }
        try feeder.start()
        var values: [Int] = []
        for _ in 0..<awaiting { values.append(try reports.get(timeout: .seconds(30))) }
        XCTAssertEqual(values.sorted(), Array(0..<awaiting))
        XCTAssertTrue(try feeder.join(timeout: .seconds(30)))
    }

    // MARK: Cancellation loses nothing

    func testCancelledGetTakesNoItem() async throws {
        let queue = try Queue<String>()
        let waiter = Task { () async throws(QueueError) -> String in try await queue.get() }
        await expectSuspended(1)
        let cancelledAt = ContinuousClock.now
        waiter.cancel()
        await assertCancelled(waiter, as: QueueError.cancelled, since: cancelledAt)
        try await queue.put("kept")
        let kept = try await queue.get(timeout: .seconds(10))
        XCTAssertEqual(kept, "kept")

        // Of ten waiters, five are cancelled: the five others get the five items, and nothing is left.
        let waiters = (0..<10).map { _ in Task { () async throws(QueueError) -> String in try await queue.get() } }
        await expectSuspended(10)
        for waiter in waiters[..<5] { waiter.cancel() }
        for waiter in waiters[..<5] { await assertCancelled(waiter, as: QueueError.cancelled) }
        for index in 0..<5 { try await queue.put("item \(index)") }
        var received: [String] = []
        for waiter in waiters[5...] { received.append(try await waiter.value) }
        XCTAssertEqual(received.sorted(), (0..<5).map { "item \($0)" })
        XCTAssertTrue(queue.isEmpty)
    }

    func testCancelledPutPutsNothing() async throws {
        let queue = try Queue<Int>(maxSize: 1)
        try await queue.put(1)
        let putter = Task { try await queue.put(2) }
        await expectSuspended(1)
        let cancelledAt = ContinuousClock.now
        putter.cancel()
        await assertCancelled(putter, as: QueueError.cancelled, since: cancelledAt)
        XCTAssertEqual(try queue.tryGet(), 1)
        XCTAssertNil(try queue.tryGet(), "the cancelled put put nothing")

        // A put that is not cancelled goes in once there is room.
        try await queue.put(3)
        let second = Task { try await queue.put(4) }
        await expectSuspended(1)
        let three = try await queue.get(timeout: .seconds(10))
        XCTAssertEqual(three, 3)
        try await second.value
        let four = try await queue.get(timeout: .seconds(10))
        XCTAssertEqual(four, 4)
    }

    func testCancelledReceiveTakesNoMessageNorItsFirstBytes() async throws {
        let (mine, theirs) = try Connection<String>.makePipe()
        let receiver = Task { () async throws(ConnectionError) -> String in try await mine.receive() }
        await expectSuspended(1)
        receiver.cancel()
        await assertCancelled(receiver, as: ConnectionError.cancelled)
        try theirs.send("kept")
        let kept = try await mine.receive()
        XCTAssertEqual(kept, "kept")

        // Half a frame arrives: the awaiting receive reads it into its buffer and waits for the rest.
        let bytesReceiver = Task { () async throws(ConnectionError) -> [UInt8] in try await mine.receiveBytes() }
        await expectSuspended(1)
        let frame: [UInt8] = [5, 0, 0, 0] + Array("hello".utf8)
        XCTAssertEqual(write(theirs.fd, frame, 6), 6)
        var peeked: UInt8 = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while recv(mine.fd, &peeked, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0 && ContinuousClock.now < deadline {
            Sys.sleep(for: .milliseconds(2))
        }
        bytesReceiver.cancel()
        await assertCancelled(bytesReceiver, as: ConnectionError.cancelled)
        XCTAssertEqual(write(theirs.fd, Array(frame[6...]), 3), 3)
        let whole = try await mine.receiveBytes()
        XCTAssertEqual(whole, Array("hello".utf8), "the first bytes were kept for the next receive")
    }

    /// The async receive into lent memory: it awaits, writes only what it receives, leaves a message
    /// too long for the memory in place (also when it arrives during the wait), and writes nothing
    /// once cancelled.
    func testReceiveIntoLentMemoryKeepsATooLongMessageAndWritesNothingWhenCancelled() async throws {
        let (mine, theirs) = try Connection<String>.makePipe()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8, alignment: 1)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0xEE)
        let lent = LentMemory(buffer: buffer)

        let receiver = Task { () async throws(ConnectionError) -> Int in try await mine.receiveBytes(into: lent.buffer)
        }
        await expectSuspended(1)
        try theirs.sendBytes([1, 2, 3])
        let count = try await receiver.value
        XCTAssertEqual(count, 3)
        XCTAssertEqual(Array(buffer), [1, 2, 3, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE])

        let tooLong = Task { () async throws(ConnectionError) -> Int in try await mine.receiveBytes(into: lent.buffer) }
        await expectSuspended(1)
        try theirs.sendBytes(Array(10..<19))
        await assertCancelled(tooLong, as: ConnectionError.bufferTooShort(size: 9, capacity: 8))
        do {
            _ = try await mine.receiveBytes(into: buffer)
            XCTFail("a 9-byte message fitted in 8 bytes")
        } catch {
            XCTAssertEqual(error, .bufferTooShort(size: 9, capacity: 8))
        }
        let kept = try await mine.receiveBytes()
        XCTAssertEqual(kept, Array(10..<19), "still the next message, whole")

        buffer.initializeMemory(as: UInt8.self, repeating: 0xEE)
        let cancelled = Task { () async throws(ConnectionError) -> Int in try await mine.receiveBytes(into: lent.buffer)
        }
        await expectSuspended(1)
        cancelled.cancel()
        await assertCancelled(cancelled, as: ConnectionError.cancelled)
        try theirs.sendBytes([4])
        XCTAssertEqual(Array(buffer), [UInt8](repeating: 0xEE, count: 8), "nothing written after the call returned")
        let four = try await mine.receiveBytes(into: buffer)
        XCTAssertEqual(four, 1)
        XCTAssertEqual(buffer[0], 4)
    }

    func testCancelledJoinLeavesTheChildRunning() async throws {
        let release = try Event()
        let child = ChildProcess { _ = release.wait(timeout: .seconds(60)) }
        try child.start()
        let joiner = Task { () async throws(ProcessError) -> Bool in try await child.join() }
        await expectSuspended(1)
        let cancelledAt = ContinuousClock.now
        joiner.cancel()
        await assertCancelled(joiner, as: ProcessError.cancelled, since: cancelledAt)
        XCTAssertTrue(child.isAlive)
        release.set()
        let ended = try await child.join(timeout: .seconds(30))
        XCTAssertTrue(ended)
        XCTAssertEqual(child.exitCode, 0)
    }

    func testCancelledJoinableQueueJoin() async throws {
        let queue = try JoinableQueue<Int>()
        try await queue.put(1)
        let joiner = Task { try await queue.join() }
        await expectSuspended(1)
        joiner.cancel()
        await assertCancelled(joiner, as: QueueError.cancelled)
        let consumer = ChildProcess {
            _ = try queue.get(timeout: .seconds(30))
            try queue.taskDone()
        }
        try consumer.start()
        try await queue.join()
        XCTAssertEqual(queue.unfinishedTasks, 0)
        let ended = try await consumer.join(timeout: .seconds(30))
        XCTAssertTrue(ended)
    }

    // MARK: Timeouts, closing, the pool

    func testTimeoutsBehaveAsInTheBlockingForms() async throws {
        let queue = try Queue<Int>(maxSize: 1)
        var started = ContinuousClock.now
        do {
            _ = try await queue.get(timeout: .milliseconds(200))
            XCTFail("empty")
        } catch {
            XCTAssertEqual(error, .empty)
        }
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - started, .milliseconds(200))
        try await queue.put(1)
        started = ContinuousClock.now
        do {
            try await queue.put(2, timeout: .milliseconds(200))
            XCTFail("full")
        } catch {
            XCTAssertEqual(error, .full)
        }
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - started, .milliseconds(200))
        let one = try await queue.get(timeout: .zero)
        XCTAssertEqual(one, 1)

        let release = try Event()
        let child = ChildProcess { _ = release.wait(timeout: .seconds(60)) }
        try child.start()
        let early = try await child.join(timeout: .milliseconds(200))
        XCTAssertFalse(early)
        release.set()
        let late = try await child.join(timeout: .seconds(30))
        XCTAssertTrue(late)

        let tasks = try JoinableQueue<Int>()
        try await tasks.put(7)
        let unfinished = try await tasks.join(timeout: .milliseconds(200))
        XCTAssertFalse(unfinished)
        _ = try tasks.tryGet()
        try tasks.taskDone()
        let finished = try await tasks.join(timeout: .seconds(30))
        XCTAssertTrue(finished)
    }

    func testCloseWakesTheAwaitingCalls() async throws {
        let queue = try Queue<Int>()
        let getter = Task { () async throws(QueueError) -> Int in try await queue.get() }
        let (mine, theirs) = try Connection<Int>.makePipe()
        let receiver = Task { () async throws(ConnectionError) -> Int in try await mine.receive() }
        await expectSuspended(2)
        queue.close()
        mine.close()
        await assertCancelled(getter, as: QueueError.closed)
        await assertCancelled(receiver, as: ConnectionError.closed)

        let (reader, writer) = try Connection<Int>.makePipe(duplex: false)
        let eofReceiver = Task { () async throws(ConnectionError) -> Int in try await reader.receive() }
        await expectSuspended(1)
        writer.close()
        theirs.close()
        await assertCancelled(eofReceiver, as: ConnectionError.endOfFile)
    }

    func testPoolAsyncForms() async throws {
        let pool = try Pool(processes: 2) { (x: Int) -> Int in x * x }
        let nine = try await pool.apply(3)
        XCTAssertEqual(nine, 9)
        let squares = try await pool.map(0..<50)
        XCTAssertEqual(squares, (0..<50).map { $0 * $0 })
        let adder = try Pool(processes: 1) { (a: Int, b: Int) -> Int in a + b }
        let sums = try await adder.starmap([(1, 2), (3, 4)])
        XCTAssertEqual(sums, [3, 7])
        pool.close()
        adder.close()
        try pool.join()
        try adder.join()
    }

    func testResultTimeoutAndCancelledIteration() async throws {
        let gate = try Event()
        let pool = try Pool(processes: 1) { (x: Int) -> Int in
            _ = gate.wait(timeout: .seconds(60))
            return x
        }
        let result = try pool.applyAsync(5)
        do {
            _ = try await result.get(timeout: .milliseconds(200))
            XCTFail("not ready")
        } catch {
            XCTAssertEqual(error, .timeout(.milliseconds(200)))
        }
        let results = try pool.imap([1, 2])
        let iterator = Task { () async throws(PoolError) -> [Int] in
            var values: [Int] = []
            for try await value in results.values { values.append(value) }
            return values
        }
        await expectSuspended(1)
        iterator.cancel()
        await assertCancelled(iterator, as: PoolError.cancelled)
        gate.set()
        let five = try await result.get(timeout: .seconds(30))
        XCTAssertEqual(five, 5)
        var rest: [Int] = []
        for try await value in results.values { rest.append(value) }
        XCTAssertEqual(rest, [1, 2], "the cancelled iteration took no outcome")
        pool.close()
        try pool.join()
    }

    /// Awaits a task that must fail with `expected` (within a second of `since`, when given). A task
    /// that never ends fails the test after 30 s instead of hanging it.
    private func assertCancelled<T: Sendable, E: Error & Equatable>(
        _ task: Task<T, any Error>, as expected: E, since: ContinuousClock.Instant? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) async {
        guard let result = await result(of: task, within: .seconds(30)) else {
            return XCTFail("the task did not end within 30 s", file: file, line: line)
        }
        switch result {
        case .success: XCTFail("expected \(expected)", file: file, line: line)
        case .failure(let error): XCTAssertEqual(error as? E, expected, file: file, line: line)
        }
        if let since {
            XCTAssertLessThan(ContinuousClock.now - since, .seconds(1), "promptly", file: file, line: line)
        }
    }
}

/// Memory lent to an async receive: the test keeps it alive, and leaves it alone, until the receive returns.
private struct LentMemory: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
}

/// The task's result, or nil when it has not ended within `limit` (the task is left alone).
private func result<T: Sendable>(of task: Task<T, any Error>, within limit: Duration) async -> Result<T, any Error>? {
    let first = FirstAnswer<Result<T, any Error>?>()
    return await withCheckedContinuation { continuation in
        first.expect(continuation)
        Task { first.answer(await task.result) }
        Task {
            try? await Task.sleep(for: limit)
            first.answer(nil)
        }
    }
}

/// Resumes a continuation with the first of several answers.
private final class FirstAnswer<Value: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<Value, Never>?>(nil)

    func expect(_ continuation: CheckedContinuation<Value, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func answer(_ value: Value) {
        continuation.withLock { waiting in
            waiting?.resume(returning: value)
            waiting = nil
        }
    }
}

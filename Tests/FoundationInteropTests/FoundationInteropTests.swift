import Foundation
import Multiprocessing
import XCTest

// Foundation and the runtime imported in one file, every public name of the runtime used plainly.
// A runtime type or function whose name Foundation also declares would make its plain use below
// ambiguous, and this file would not compile (as `Process`, `Pipe` and `Semaphore` once did).

/// An order made of Foundation's value types: they are Codable, so they cross processes as they are.
struct Order: Codable, Equatable, Sendable {
    var id: UUID
    var placed: Date
    var note: Data
    var quantity: Int
}

/// What a work function throws in a pool worker.
struct Refused: Error {}

final class FoundationInteropTests: XCTestCase {
    /// One program: Foundation's `Process` and `Pipe` run another program, and the runtime's
    /// processes, pipes, queues, locks, semaphores, shared memory and pool carry Foundation's types.
    func testTheRuntimeBesideFoundationInOneProgram() throws {
        // Foundation's Process runs another program, its Pipe carries that program's output.
        let echo = Foundation.Process()
        echo.executableURL = URL(fileURLWithPath: "/bin/echo")
        echo.arguments = ["hello", "from", "echo"]
        let output = Foundation.Pipe()
        echo.standardOutput = output
        try echo.run()
        let echoed = output.fileHandleForReading.readDataToEndOfFile()
        echo.waitUntilExit()
        XCTAssertEqual(String(decoding: echoed, as: UTF8.self), "hello from echo\n")
        XCTAssertEqual(echo.terminationStatus, 0)

        // A Connection pipe to a ChildProcess: an Order goes there and comes back changed.
        let (parentEnd, childEnd): (Connection<Order>, Connection<Order>) = try Connection<Order>.makePipe(duplex: true)
        let clerk: ChildProcess = ChildProcess(name: "clerk") {
            parentEnd.close()
            var order = try childEnd.receive()
            order.quantity *= 2
            order.note.append(contentsOf: Array(" (doubled)".utf8))
            try childEnd.send(order)
        }
        try clerk.start()
        childEnd.close()
        let sent = Order(id: UUID(), placed: Date(), note: Data("two boxes".utf8), quantity: 2)
        try parentEnd.send(sent)
        XCTAssertTrue(try parentEnd.poll(timeout: .seconds(60)))
        let back = try parentEnd.receive()
        XCTAssertTrue(try clerk.join(timeout: .seconds(60)))
        XCTAssertEqual(clerk.exitStatus, ExitStatus.exited(0))
        var expected = sent
        expected.quantity = 4
        expected.note = Data("two boxes (doubled)".utf8)
        XCTAssertEqual(back, expected)
        let json = JSONEncoder()
        json.outputFormatting = .sortedKeys
        XCTAssertEqual(try json.encode(back), try json.encode(expected))
        XCTAssertThrowsError(try parentEnd.receive()) { XCTAssertEqual($0 as? ConnectionError, .endOfFile) }
        parentEnd.close()
        XCTAssertThrowsError(try parentEnd.receive()) { XCTAssertEqual($0 as? ConnectionError, .closed) }
        let (oneWayReader, oneWayWriter) = try Connection<Date>.makePipe(duplex: false)
        XCTAssertThrowsError(try oneWayReader.send(Date())) {
            XCTAssertEqual($0 as? ConnectionError, .wrongDirection(ConnectionOperation.send))
        }
        // Raw bytes: a Data (or a slice of one) is sent as it is, and received into a Data's memory.
        let payload = Data("header:body".utf8)
        try oneWayWriter.sendBytes(payload, offset: 7)
        try oneWayWriter.sendBytes(payload[payload.startIndex..<payload.startIndex + 6])
        var landing = Data(count: 4)
        let received = try landing.withUnsafeMutableBytes { try oneWayReader.receiveBytes(into: $0) }
        XCTAssertEqual(landing.prefix(received), Data("body".utf8))
        XCTAssertThrowsError(try landing.withUnsafeMutableBytes { try oneWayReader.receiveBytes(into: $0) }) {
            XCTAssertEqual($0 as? ConnectionError, .bufferTooShort(size: 6, capacity: 4))
        }
        var header = [UInt8](repeating: 0, count: 8)
        XCTAssertEqual(try oneWayReader.receiveBytes(into: &header, offset: 2), 6)
        XCTAssertEqual(String(decoding: header[2...], as: UTF8.self), "header")
        XCTAssertThrowsError(try oneWayWriter.sendBytes(payload, offset: 12)) {
            XCTAssertEqual($0 as? ConnectionError, .outOfBounds(offset: 12, count: 0, bufferSize: 11))
        }
        oneWayWriter.close()
        oneWayReader.close()

        // A Queue of Dates and a JoinableQueue of Data, with a CountingSemaphore to say "done".
        let stamps: Queue<Date> = try Queue<Date>(maxSize: 2)
        let chunks: JoinableQueue<Data> = try JoinableQueue<Data>()
        let done: CountingSemaphore = try CountingSemaphore(value: 0)
        let stamper = ChildProcess(name: "stamper") {
            try stamps.put(Date(timeIntervalSince1970: 0))
            let chunk = try chunks.get(timeout: .seconds(60))
            try stamps.put(Date(timeIntervalSince1970: Double(chunk.count)))
            try chunks.taskDone()
            try done.release()
        }
        try stamper.start()
        try chunks.put(Data(count: 42))
        XCTAssertTrue(chunks.join(timeout: .seconds(60)))
        XCTAssertTrue(done.acquire(timeout: .seconds(60)))
        XCTAssertTrue(try stamper.join(timeout: .seconds(60)))
        XCTAssertEqual(stamper.exitCode, 0)
        XCTAssertEqual(try stamps.get(timeout: .seconds(60)), Date(timeIntervalSince1970: 0))
        XCTAssertTrue(try stamps.tryPut(Date.distantFuture))
        XCTAssertThrowsError(try stamps.put(Date(), timeout: .zero)) { XCTAssertEqual($0 as? QueueError, .full) }
        XCTAssertEqual(try stamps.tryGet(), Date(timeIntervalSince1970: 42))
        XCTAssertEqual(try stamps.tryGet(), Date.distantFuture)
        XCTAssertNil(try stamps.tryGet())

        // Locks, a condition, an event, a barrier and shared memory, between this process and a child.
        let lock: Lock = try Lock()
        let rlock: RLock = try RLock()
        let condition: Condition = try Condition(lock: rlock)
        let started: Event = try Event()
        let barrier: Barrier = try Barrier(parties: 2)
        let seconds: SharedValue<Double> = try SharedValue(0)
        let samples: SharedArray<Double> = try SharedArray(repeating: 0, count: 3)
        let sampler = ChildProcess(name: "sampler") {
            started.set()
            try barrier.wait(timeout: .seconds(60))
            for index in 0..<samples.count {
                samples[index] = Date(timeIntervalSince1970: Double(index)).timeIntervalSince1970
            }
            try condition.withLock { () throws(SyncError) in
                seconds.value = 1.5
                try condition.notifyAll()
            }
            lock.acquire()
            exitProcess(0)  // holding the lock: the parent takes it over
        }
        try sampler.start()
        XCTAssertTrue(started.wait(timeout: .seconds(60)))
        XCTAssertGreaterThanOrEqual(try barrier.wait(timeout: .seconds(60)), 0)
        try condition.withLock { () throws(SyncError) in
            XCTAssertTrue(try condition.wait(for: { seconds.value == 1.5 }, timeout: .seconds(60)))
        }
        XCTAssertTrue(try sampler.join(timeout: .seconds(60)))
        XCTAssertEqual(samples.elements, [0, 1, 2])
        XCTAssertTrue(lock.acquire(timeout: .seconds(60)))
        let recovery: LockRecovery? = lock.recovery
        XCTAssertEqual(recovery?.deadHolderPid, sampler.pid)
        try lock.release()
        XCTAssertThrowsError(try lock.release()) { XCTAssertEqual($0 as? SyncError, .releasedUnlockedLock) }

        // Raw shared memory has no lock; a condition refuses a wait without its lock; a barrier's
        // failing action reaches its caller with the original error.
        let raw: RawSharedValue<Double> = try RawSharedValue(Date(timeIntervalSince1970: 2).timeIntervalSince1970)
        let rawSamples: RawSharedArray<Double> = try RawSharedArray([raw.value, 3])
        XCTAssertEqual(rawSamples.elements, [2, 3])
        XCTAssertThrowsError(try condition.notify()) {
            XCTAssertEqual($0 as? SyncError, .conditionLockNotHeld(operation: ConditionOperation.notify))
        }
        let failing = try Barrier(parties: 1, action: { throw Refused() })
        XCTAssertThrowsError(try failing.wait()) { error in
            guard case .barrierActionFailed(let failure)? = error as? SyncError else { return XCTFail("\(error)") }
            let reason: BarrierActionFailure = failure
            XCTAssertTrue(reason.error is Refused)
        }

        // A BoundedSemaphore refuses a release beyond its initial value.
        let slots: BoundedSemaphore = try BoundedSemaphore(value: 1)
        XCTAssertTrue(slots.tryAcquire())
        try slots.release()
        XCTAssertThrowsError(try slots.release()) {
            XCTAssertEqual($0 as? SyncError, .releasedBoundedSemaphoreTooOften(initialValue: 1))
        }

        // A Pool of workers: map, applyAsync, imap, and a work function that throws.
        let pool: Pool<String, Int> = try Pool(processes: 2) { (text: String) throws -> Int in
            if text.isEmpty { throw Refused() }
            return text.utf8.count
        }
        XCTAssertEqual(try pool.map(["fork", "Foundation"]), [4, 10])
        let pending: AsyncResult<Int> = try pool.applyAsync("pipe")
        XCTAssertEqual(try pending.get(timeout: .seconds(60)), 4)
        let lengths: PoolResults<Int> = try pool.imap(["a", "bb", "ccc"])
        XCTAssertEqual(lengths.map { try? $0.get() }, [1, 2, 3])
        XCTAssertThrowsError(try pool.apply("")) { error in
            guard case .taskFailed(_, let pid, let type, _)? = error as? PoolError else { return XCTFail("\(error)") }
            XCTAssertEqual(type, "Refused")
            XCTAssertGreaterThan(pid, 0, "the worker's pid")
        }
        pool.close()
        XCTAssertThrowsError(try pool.apply("late")) {
            XCTAssertEqual($0 as? PoolError, .notRunning(operation: PoolOperation.apply, state: PoolState.closed))
        }
        try pool.join()

        // A pool whose work function takes two arguments is fed PoolArguments.
        let repeater = try Pool(processes: 1) { (count: Int, text: String) in String(repeating: text, count: count) }
        let arguments: PoolArguments<Int, String> = PoolArguments(3, "ab")
        XCTAssertEqual(try repeater.apply(arguments), "ababab")
        repeater.close()
        try repeater.join()

        // The codec on its own: a Foundation value in, the same value out; garbage is a CodecError.
        let bytes = try BinaryEncoder().encode(sent)
        XCTAssertEqual(try BinaryDecoder().decode(Order.self, from: bytes), sent)
        XCTAssertThrowsError(try BinaryDecoder().decode(Order.self, from: [1, 2, 3])) {
            XCTAssertNotNil($0 as? CodecError)
        }

        // The bare system calls, and the process-level functions.
        let forked: ForkResult = try forkProcess()
        guard case .parent(let childPid) = forked else { exitProcess(3) }
        let status: ExitStatus = try waitForProcess(childPid)
        XCTAssertEqual(status, .exited(3))
        XCTAssertThrowsError(try waitForProcess(childPid)) { XCTAssertEqual(($0 as? SystemError)?.errno, ECHILD) }
        XCTAssertEqual(signalName(SIGKILL), "SIGKILL")
        XCTAssertEqual(currentProcess().name, "MainProcess")
        XCTAssertGreaterThanOrEqual(cpuCount(), 1)
        let idle = ChildProcess(name: "idle") { _ = started.wait(timeout: .seconds(60)) }
        XCTAssertThrowsError(try idle.join()) {
            XCTAssertEqual($0 as? ProcessError, .notStarted(name: "idle", operation: ProcessOperation.join))
        }
        XCTAssertNil(idle.hasStartedRunning)
        XCTAssertEqual(idle.diagnosis, "idle has not been started")
        XCTAssertTrue(ChildProcess.forkWarningEnabled)
        started.clear()
        try idle.start()
        XCTAssertTrue(activeChildren().contains { $0 === idle })
        started.set()
        XCTAssertTrue(try idle.join(timeout: .seconds(60)))
        XCTAssertFalse(activeChildren().contains { $0 === idle })

        // A pipe end, a queue and a child waited for together; a child's exit handler reports
        // through the pipe whether its parent (seen with parentProcess) is alive; close and interrupt.
        XCTAssertNil(parentProcess())
        let (news, newsWriter) = try Connection<Date>.makePipe(duplex: false)
        let reporter = ChildProcess(name: "reporter") {
            let parent: ParentProcess = parentProcess()!
            atProcessExit { try newsWriter.send(Date(timeIntervalSince1970: parent.isAlive ? 1 : 0)) }
        }
        try reporter.start()
        newsWriter.close()
        let watched: [any Waitable] = [news, stamps, reporter]
        XCTAssertEqual(try waitForAny(watched, timeout: .seconds(60)).first, 0, "sent before the child ends")
        XCTAssertEqual(try news.receive(), Date(timeIntervalSince1970: 1))
        XCTAssertTrue(try reporter.join(timeout: .seconds(60)))
        try reporter.close()
        XCTAssertThrowsError(try reporter.interrupt()) {
            XCTAssertEqual($0 as? ProcessError, .closed(name: "reporter", operation: ProcessOperation.interrupt))
        }
        XCTAssertThrowsError(try waitForAny([reporter])) {
            XCTAssertEqual($0 as? WaitError, .process(index: 0, .closed(name: "reporter", operation: .wait)))
        }
        let _: _WaitCondition = news._waitCondition  // public only so that the runtime's types can conform
        news.close()
    }

    /// A trace beside Foundation: its names are plain, and the file it writes is JSON that
    /// Foundation's parser reads.
    func testATraceBesideFoundation() throws {
        let path = NSTemporaryDirectory() + "interop-trace-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(Tracing.defaultCapacity, 1 << 20)
        try Tracing.start(writingTo: path)
        XCTAssertTrue(Tracing.isActive)
        XCTAssertThrowsError(try Tracing.start(writingTo: path)) {
            XCTAssertEqual($0 as? TracingError, .alreadyTracing)
        }
        let child = ChildProcess(name: "traced") {}
        try child.start()
        try child.join()
        let summary: TraceSummary = try XCTUnwrap(try Tracing.stop())
        XCTAssertEqual(summary.path, path)
        XCTAssertEqual(summary.droppedCount, 0)
        XCTAssertGreaterThanOrEqual(summary.processCount, 1)
        XCTAssertGreaterThan(summary.eventCount, 0)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(
            TracingError.cannotWrite(path: "/x", SystemError("open", errno: ENOENT)).description.hasPrefix(
                "cannot write the trace to /x"), true)
        XCTAssertEqual(
            TracingError.system(SystemError("mmap", errno: ENOMEM)), .system(SystemError("mmap", errno: ENOMEM)))
        XCTAssertNotEqual(TracingError.invalidCapacity(0), .alreadyTracing)
    }

    /// Guards the test above: every public type and function of the runtime appears in it, so a new
    /// public name is checked beside Foundation too. Reads the runtime's sources.
    func testEveryPublicNameOfTheRuntimeIsUsedBesideFoundation() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        // The runtime and any target it re-exports (every folder under Sources named Multiprocessing…).
        let sourceFolders = try FileManager.default.contentsOfDirectory(
            atPath: root.appendingPathComponent("Sources").path
        )
        .filter { $0.hasPrefix("Multiprocessing") }
        .map { root.appendingPathComponent("Sources").appendingPathComponent($0) }
        let thisFile = try String(contentsOf: here, encoding: .utf8)
        // Only names in code count (not in comments or strings), and only plain ones: `Foundation.Pipe`
        // is not a use of a runtime `Pipe`.
        let plain =
            thisFile
            .replacingOccurrences(of: "//[^\n]*", with: "", options: .regularExpression)
            .replacingOccurrences(of: #""[^"\n]*""#, with: "", options: .regularExpression)
            .replacingOccurrences(of: #"Foundation\.\w+"#, with: "", options: .regularExpression)
        let usedWords = Set(plain.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init))
        var names: Set<String> = []
        let files = try sourceFolders.flatMap { folder in
            try FileManager.default.subpathsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
                .map { folder.appendingPathComponent($0) }
        }
        XCTAssertGreaterThan(files.count, 30, "the runtime's sources were not found")
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("public ") || line.hasPrefix("open ") {
                let words = line.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init)
                let kinds: Set<String> = [
                    "class", "struct", "enum", "protocol", "typealias", "actor", "func", "var", "let",
                ]
                if let kind = words.firstIndex(where: kinds.contains), kind + 1 < words.count {
                    names.insert(words[kind + 1])
                }
            }
        }
        XCTAssertGreaterThan(
            names.count, 30, "found too few public names in \(sourceFolders.map(\.path)): \(names.sorted())")
        XCTAssertTrue(names.isSuperset(of: ["ChildProcess", "Connection", "CountingSemaphore", "Pool", "exitProcess"]))
        let unused = names.subtracting(usedWords)
        XCTAssertTrue(unused.isEmpty, "public names not used in \(here.lastPathComponent): \(unused.sorted())")
        XCTAssertFalse(thisFile.contains("Multiprocessing" + "."), "use the runtime's names unqualified")
    }

    /// The README's complete program is `Sources/readme-example/main.swift`, byte for byte, and it
    /// prints what its comments say.
    func testTheReadmeProgramIsTheExampleAndRuns() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let program = try String(
            contentsOf: root.appendingPathComponent("Sources/readme-example/main.swift"), encoding: .utf8)
        let marker = "<!-- the program: Sources/readme-example/main.swift -->\n```swift\n"
        let start = try XCTUnwrap(readme.range(of: marker), "README.md has no \(marker)")
        let end = try XCTUnwrap(readme.range(of: "\n```\n", range: start.upperBound..<readme.endIndex))
        let block = String(readme[start.upperBound..<end.lowerBound]) + "\n"
        if block != program {
            let (shown, file) = (
                block.split(separator: "\n", omittingEmptySubsequences: false),
                program.split(separator: "\n", omittingEmptySubsequences: false)
            )
            let line =
                (0..<min(shown.count, file.count)).first { shown[$0] != file[$0] } ?? min(shown.count, file.count)
            XCTFail(
                """
                README.md's program differs from Sources/readme-example/main.swift at line \(line + 1):
                README: \(line < shown.count ? shown[line] : "(end)")
                file:   \(line < file.count ? file[line] : "(end)")
                """)
        }

        // Run the built program (the test bundle sits beside the executables it depends on).
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        if directory.pathExtension == "xctest" { directory.deleteLastPathComponent() }
        let run = Foundation.Process()
        run.executableURL = directory.appendingPathComponent("readme-example")
        let output = Foundation.Pipe()
        run.standardOutput = output
        try run.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        run.waitUntilExit()
        XCTAssertEqual(run.terminationStatus, 0)
        let text = String(decoding: printed, as: UTF8.self)
        XCTAssertEqual(
            text,
            """
            ["Process-1","Process-2","Process-3"]
            ["FORK", "JOIN", "POOL"]
            echo ran in another program

            """)

        // The troubleshooting page shows what it prints.
        let page = try String(
            contentsOf: root.appendingPathComponent("book/troubleshooting.md"), encoding: .utf8)
        let shown = "```sh\nswift run readme-example\n```\n\n```text\n"
        let blockStart = try XCTUnwrap(page.range(of: shown), "troubleshooting.md no longer shows the run")
        let blockEnd = try XCTUnwrap(page[blockStart.upperBound...].range(of: "```\n"))
        XCTAssertEqual(String(page[blockStart.upperBound..<blockEnd.lowerBound]), text)
    }
}

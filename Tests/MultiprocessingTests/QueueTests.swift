import Glibc
import XCTest

@testable import Multiprocessing

/// A message with some shape, to prove that items are not only numbers.
struct Parcel: Codable, Equatable {
    enum Kind: String, Codable { case small, large }
    var producer: Int
    var sequence: Int
    var label: String
    var kind: Kind
    var payload: [UInt8]
}

/// Runs `body` on a new pthread of this (test) process; returns a function that waits for it to end.
func onThread(_ body: @escaping @Sendable () -> Void) -> () -> Void {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    pthread_create(
        &thread, nil,
        { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, box)
    return { pthread_join(thread, nil) }
}

final class QueueTests: XCTestCase {
    // MARK: Basics

    func testFirstInFirstOutWithExactCounts() throws {
        let queue = try Queue<Int>(maxSize: 5)
        XCTAssertTrue(queue.isEmpty)
        XCTAssertFalse(queue.isFull)
        XCTAssertEqual(queue.count, 0)
        for value in 1...5 {
            try queue.put(value)
            XCTAssertEqual(queue.count, value)
        }
        XCTAssertTrue(queue.isFull)
        XCTAssertFalse(queue.isEmpty)
        XCTAssertEqual(try (1...5).map { _ in try queue.get() }, [1, 2, 3, 4, 5])
        XCTAssertTrue(queue.isEmpty)
        XCTAssertEqual(queue.maxSize, 5)
    }

    func testHelloWorldFromAChild() throws {
        let queue = try Queue<String>()
        let child = ChildProcess { try queue.put("hello world") }
        try child.start()
        XCTAssertEqual(try queue.get(timeout: .seconds(20)), "hello world")
        try child.join()
        XCTAssertEqual(child.exitCode, 0)
    }

    func testStructuredItemsRoundTripAcrossProcesses() throws {
        let queue = try Queue<Parcel>()
        let parcels = (0..<50).map {
            Parcel(
                producer: 1, sequence: $0, label: "parcel \($0) ✉️", kind: $0 % 2 == 0 ? .small : .large,
                payload: [UInt8](repeating: UInt8($0), count: $0 * 37))
        }
        let child = ChildProcess { for parcel in parcels { try queue.put(parcel) } }
        try child.start()
        let received = try parcels.map { _ in try queue.get(timeout: .seconds(20)) }
        try child.join()
        XCTAssertEqual(received, parcels)
    }

    func testEveryNumberTypeAndOptionalsRoundTrip() throws {
        let doubles = try Queue<Double>()
        try doubles.put(-0.5)
        try doubles.put(.infinity)
        XCTAssertEqual(try doubles.get(), -0.5)
        XCTAssertEqual(try doubles.get(), .infinity)
        let bytes = try Queue<UInt8>()
        try bytes.put(255)
        XCTAssertEqual(try bytes.get(), 255)
        let wide = try Queue<Int128>()
        try wide.put(.max)
        XCTAssertEqual(try wide.get(), .max)
        let flags = try Queue<Bool>()
        try flags.put(true)
        XCTAssertEqual(try flags.get(), true)
        let optionals = try Queue<Int?>()
        try optionals.put(nil)
        try optionals.put(7)
        XCTAssertEqual(try optionals.get(), nil)
        XCTAssertEqual(try optionals.get(), 7)
    }

    // MARK: Full and empty

    func testTryPutIsFullAtOnceAndTimeoutAfterAboutTheTimeout() throws {
        let queue = try Queue<Int>(maxSize: 3)
        for value in 0..<3 { XCTAssertTrue(try queue.tryPut(value)) }
        XCTAssertTrue(queue.isFull)
        let (nowait, quick) = timed { Result { () throws(QueueError) in try queue.tryPut(3) } }
        XCTAssertEqual(try nowait.get(), false)
        XCTAssertLessThan(quick, .milliseconds(500))
        let (zero, _) = timed { Result { () throws(QueueError) in try queue.put(3, timeout: .zero) } }
        XCTAssertThrowsError(try zero.get()) { XCTAssertEqual($0 as? QueueError, .full) }
        let (timedOut, waited) = timed {
            Result { () throws(QueueError) in try queue.put(3, timeout: .milliseconds(300)) }
        }
        XCTAssertThrowsError(try timedOut.get()) { XCTAssertEqual($0 as? QueueError, .full) }
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(300))
        XCTAssertLessThan(waited, .milliseconds(2300))
        XCTAssertEqual(queue.count, 3)
        XCTAssertEqual(try queue.tryGet(), 0)
        XCTAssertTrue(try queue.tryPut(3))
        XCTAssertEqual(try (0..<3).map { _ in try queue.tryGet() }, [1, 2, 3])
        XCTAssertEqual(queue.count, 0)
    }

    func testTryGetIsEmptyAtOnceAndTimeoutAfterAboutTheTimeout() throws {
        let queue = try Queue<Int>()
        let (nowait, quick) = timed { Result { () throws(QueueError) in try queue.tryGet() } }
        XCTAssertNil(try nowait.get())
        XCTAssertLessThan(quick, .milliseconds(500))
        let (timedOut, waited) = timed {
            Result { () throws(QueueError) in try queue.get(timeout: .milliseconds(300)) }
        }
        XCTAssertThrowsError(try timedOut.get()) { XCTAssertEqual($0 as? QueueError, .empty) }
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(300))
        XCTAssertLessThan(waited, .milliseconds(2300))
        XCTAssertThrowsError(try queue.get(timeout: .milliseconds(-5))) { XCTAssertEqual($0 as? QueueError, .empty) }
        XCTAssertThrowsError(try queue.get(timeout: .seconds(Int64.min))) { XCTAssertEqual($0 as? QueueError, .empty) }
        try queue.put(1, timeout: .seconds(Int64.max))  // a timeout too large to add to the clock is no limit
        XCTAssertEqual(try queue.get(timeout: .seconds(Int64.max)), 1)
    }

    func testABlockedPutGoesOnWhenAnotherProcessGets() throws {
        let queue = try Queue<Int>(maxSize: 1)
        try queue.put(1)
        let report = try ReportPipe()
        let producer = ChildProcess {
            try queue.put(2)  // blocks: the queue is full
            report.write("put 2 returned\n")
        }
        try producer.start()
        waitUntilSleeping(producer.pid!)
        XCTAssertEqual(queue.count, 1)  // the blocked put has not put anything
        XCTAssertEqual(try queue.get(), 1)
        XCTAssertEqual(try queue.get(timeout: .seconds(20)), 2)
        try producer.join()
        XCTAssertEqual(try report.readAll(), "put 2 returned\n")
    }

    func testABlockedGetGoesOnWhenAnotherProcessPuts() throws {
        let queue = try Queue<String>()
        let report = try ReportPipe()
        let consumer = ChildProcess { report.write("got \(try queue.get())\n") }
        try consumer.start()
        waitUntilSleeping(consumer.pid!)
        try queue.put("late")
        try consumer.join()
        XCTAssertEqual(try report.readAll(), "got late\n")
        XCTAssertEqual(consumer.exitCode, 0)
    }

    func testTimeoutsSurviveSignals() throws {
        let queue = try Queue<Int>(maxSize: 1)
        let report = try ReportPipe()
        let child = ChildProcess {
            catchSignalWithoutRestart(SIGUSR1)
            report.write("ready\n")
            let (got, waitedGet) = timed {
                Result { () throws(QueueError) in try queue.get(timeout: .milliseconds(300)) }
            }
            report.write("get: \(got) \(waitedGet >= .milliseconds(300)) \(waitedGet < .milliseconds(2300))\n")
            try queue.put(1)
            let (put, waitedPut) = timed {
                Result { () throws(QueueError) in try queue.put(2, timeout: .milliseconds(300)) }
            }
            report.write("put: \(put) \(waitedPut >= .milliseconds(300)) \(waitedPut < .milliseconds(2300))\n")
        }
        try child.start()
        XCTAssertEqual(try report.readLine(), "ready")
        let sent = pester(child.pid!, with: SIGUSR1, every: .milliseconds(5)) { !child.isAlive }
        XCTAssertGreaterThan(sent, 10)
        XCTAssertEqual(child.exitCode, 0)
        XCTAssertEqual(
            try report.readAll(),
            "get: failure(the queue is empty) true true\nput: failure(the queue is full) true true\n")
    }

    // MARK: Many producers and consumers

    func testFourProducersOfTenThousandItemsArriveExactlyOnceInOrderPerProducer() throws {
        struct Item: Codable {
            var producer: Int
            var sequence: Int
        }
        let producers = 4
        let perProducer = 10_000
        let queue = try Queue<Item>(maxSize: 100)
        let children = (0..<producers).map { producer in
            ChildProcess {
                for sequence in 0..<perProducer { try queue.put(Item(producer: producer, sequence: sequence)) }
            }
        }
        for child in children { try child.start() }
        var next = [Int](repeating: 0, count: producers)
        var outOfOrder = 0
        for _ in 0..<producers * perProducer {
            let item = try queue.get(timeout: .seconds(30))
            if item.sequence != next[item.producer] { outOfOrder += 1 }
            next[item.producer] = item.sequence + 1
        }
        for child in children { try child.join() }
        XCTAssertEqual(children.map(\.exitCode), [0, 0, 0, 0])
        XCTAssertEqual(outOfOrder, 0)
        XCTAssertEqual(next, [perProducer, perProducer, perProducer, perProducer])
        XCTAssertTrue(queue.isEmpty)
        XCTAssertNil(try queue.tryGet())
    }

    func testManyProducersAndConsumersWithSentinels() throws {
        let producers = 3
        let consumers = 3
        let perProducer = 5_000
        let total = producers * perProducer
        let queue = try Queue<Int>(maxSize: 50)
        // seen[c * total + v]: how many times consumer c got value v (each slot has one writer).
        let seen = try RawSharedArray<UInt8>(repeating: 0, count: consumers * total)
        let consumerProcesses = (0..<consumers).map { consumer in
            ChildProcess {
                while true {
                    let value = try queue.get()
                    if value < 0 { return }  // the sentinel: no more work
                    seen[consumer * total + value] &+= 1
                }
            }
        }
        let producerProcesses = (0..<producers).map { producer in
            ChildProcess { for value in producer * perProducer..<(producer + 1) * perProducer { try queue.put(value) } }
        }
        for process in consumerProcesses + producerProcesses { try process.start() }
        for process in producerProcesses { try process.join() }
        for _ in 0..<consumers { try queue.put(-1) }
        for process in consumerProcesses { try process.join() }
        XCTAssertEqual((consumerProcesses + producerProcesses).map(\.exitCode), [Int32?](repeating: 0, count: 6))
        let counts = seen.elements
        let wrong = (0..<total).filter { value in
            (0..<consumers).reduce(0) { $0 + Int(counts[$1 * total + value]) } != 1
        }
        XCTAssertEqual(wrong, [])
        XCTAssertTrue(queue.isEmpty)
    }

    // MARK: Better than CPython

    func testAProducerExitsAtOnceWithoutAConsumerAndNothingIsLost() throws {
        let queue = try Queue<String>()
        let producer = ChildProcess { for number in 1...5 { try queue.put("item \(number)") } }
        try producer.start()
        try producer.join(timeout: .seconds(20))  // CPython would hang here: its feeder thread waits for a reader
        XCTAssertEqual(producer.exitCode, 0)
        XCTAssertEqual(queue.count, 5)
        XCTAssertEqual(try (1...5).map { _ in try queue.tryGet() }, (1...5).map { "item \($0)" })
    }

    func testAnUnencodableItemIsAnErrorAtPut() throws {
        struct Fussy: Codable {
            var fine: Bool
            init(fine: Bool) { self.fine = fine }
            init(from decoder: any Decoder) throws { fine = try decoder.singleValueContainer().decode(Bool.self) }
            func encode(to encoder: any Encoder) throws {
                guard fine else {
                    throw EncodingError.invalidValue(self, .init(codingPath: [], debugDescription: "not fine"))
                }
                var container = encoder.singleValueContainer()
                try container.encode(fine)
            }
        }
        let queue = try Queue<Fussy>()
        XCTAssertThrowsError(try queue.put(Fussy(fine: false))) { error in
            guard case .unencodable(let codecError)? = error as? QueueError else { return XCTFail("\(error)") }
            XCTAssertTrue(codecError.description.contains("not fine"), codecError.description)
        }
        XCTAssertTrue(queue.isEmpty)
        try queue.put(Fussy(fine: true))
        XCTAssertEqual(try queue.get().fine, true)
    }

    func testAnItemLargerThanTheRingIsAnErrorAtOnce() throws {
        let queue = try Queue<[UInt8]>(maxSize: 0, capacity: 4096)
        XCTAssertEqual(queue.capacity, 4096)
        let (result, waited) = timed {
            Result { () throws(QueueError) in try queue.put([UInt8](repeating: 1, count: 5000)) }
        }
        XCTAssertThrowsError(try result.get()) { error in
            guard case .itemTooLarge(let bytes, 4096)? = error as? QueueError else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(bytes, 5000)
            XCTAssertTrue("\(error)".contains("larger capacity"))
        }
        XCTAssertLessThan(waited, .milliseconds(500))
        // A ring record is a 4-byte length and the item's bytes (an array of numbers travels as its
        // elements' bytes, without the codec): 4092 bytes is the largest array that fits, one more
        // can never fit.
        XCTAssertThrowsError(try queue.put([UInt8](repeating: 2, count: 4093))) {
            XCTAssertEqual($0 as? QueueError, .itemTooLarge(byteCount: 4100, capacity: 4096))
        }
        let largest = [UInt8](repeating: 2, count: 4092)
        try queue.put(largest)
        XCTAssertTrue(queue.isFull)
        XCTAssertEqual(try queue.get(), largest)
    }

    func testItemsWrapAroundASmallRingIntactWhileAnotherProcessReads() throws {
        let queue = try Queue<[UInt16]>(capacity: 4096)
        let lengths = (0..<2_000).map { ($0 * 7919) % 700 }
        let child = ChildProcess {
            for (index, length) in lengths.enumerated() {
                try queue.put((0..<length).map { UInt16(truncatingIfNeeded: index &+ $0) })
            }
        }
        try child.start()
        var bad = 0
        for (index, length) in lengths.enumerated() {
            let item = try queue.get(timeout: .seconds(20))
            if item != (0..<length).map({ UInt16(truncatingIfNeeded: index &+ $0) }) { bad += 1 }
        }
        try child.join()
        XCTAssertEqual(bad, 0)
        XCTAssertEqual(child.exitCode, 0)
    }

    func testAnUnboundedQueueBlocksOnlyWhenItsBytesAreFull() throws {
        let queue = try Queue<Int>(capacity: 4096)  // 12 bytes per Int (a length and 8 bytes): 341 items
        for value in 0..<341 { XCTAssertTrue(try queue.tryPut(value)) }
        XCTAssertTrue(queue.isFull)
        XCTAssertFalse(try queue.tryPut(341))
        XCTAssertEqual(try queue.get(), 0)
        XCTAssertTrue(try queue.tryPut(341))
        XCTAssertEqual(queue.count, 341)
    }

    /// Producers short of *bytes* are woken in batches (when a quarter of the ring is free), but a
    /// producer whose item fits is never stranded: it looks again at the end of each sleep slice.
    func testAProducerShortOfBytesGoesOnWhenItsItemFits() throws {
        let queue = try Queue<Int>(capacity: 4096)
        for value in 0..<341 { try queue.put(value) }
        let producer = ChildProcess { try queue.put(341) }
        try producer.start()
        let deadline = ContinuousClock.now + .seconds(20)
        while queue.sleeperCounts.notFull == 0 && ContinuousClock.now < deadline { Sys.sleep(for: .milliseconds(1)) }
        let (_, waited) = try timed { () throws in
            XCTAssertEqual(try queue.get(), 0)  // frees 12 bytes: far less than a quarter of the ring
            try producer.join()
        }
        XCTAssertEqual(producer.exitCode, 0)
        XCTAssertLessThan(waited, .seconds(2))
        XCTAssertEqual(queue.count, 341)
        XCTAssertEqual(try (0..<341).map { _ in try queue.get() }, Array(1...341))
    }

    // MARK: Closing

    func testCloseStopsThisObjectButNotOtherProcesses() throws {
        let queue = try Queue<Int>()
        try queue.put(1)
        try queue.put(2)
        let go = try ReportPipe()
        let report = try ReportPipe()
        let reader = ChildProcess {
            _ = try Sys.read(go.readEnd, upTo: 1)
            report.write("reader: closed? \(queue.isClosed), got \(try queue.get()) and \(try queue.get())\n")
        }
        try reader.start()
        queue.close()
        XCTAssertTrue(queue.isClosed)
        XCTAssertThrowsError(try queue.put(3)) { XCTAssertEqual($0 as? QueueError, .closed) }
        XCTAssertThrowsError(try queue.get()) { XCTAssertEqual($0 as? QueueError, .closed) }
        XCTAssertThrowsError(try queue.tryGet()) { XCTAssertEqual($0 as? QueueError, .closed) }
        XCTAssertEqual(queue.count, 2)
        go.write("!")
        try reader.join()
        XCTAssertEqual(try report.readAll(), "reader: closed? false, got 1 and 2\n")
        XCTAssertEqual(queue.count, 0)
        queue.close()  // closing twice is harmless
    }

    func testCloseWakesAGetWaitingInAnotherThreadOfThisProcess() throws {
        let queue = try Queue<Int>()
        final class Outcome: @unchecked Sendable { var error: QueueError? }
        let outcome = Outcome()
        let finished = onThread {
            do throws(QueueError) { _ = try queue.get() } catch { outcome.error = error }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while queue.sleeperCounts.notEmpty == 0 && ContinuousClock.now < deadline { Sys.sleep(for: .milliseconds(1)) }
        let (_, waited) = timed {
            queue.close()
            finished()
        }
        XCTAssertEqual(outcome.error, .closed)
        XCTAssertLessThan(waited, .seconds(2))
    }

    // MARK: Misuse and resources

    func testInvalidSizesAreErrors() {
        XCTAssertThrowsError(try Queue<Int>(maxSize: -1)) { XCTAssertEqual($0 as? QueueError, .invalidMaxSize(-1)) }
        XCTAssertThrowsError(try Queue<Int>(capacity: 100)) { XCTAssertEqual($0 as? QueueError, .invalidCapacity(100)) }
        XCTAssertThrowsError(try Queue<Int>(capacity: 1 << 31)) {
            XCTAssertEqual($0 as? QueueError, .invalidCapacity(1 << 31))
        }
        XCTAssertEqual(try Queue<Int>(capacity: 5000).capacity, 8192)
        XCTAssertEqual(try Queue<Int>().capacity, Queue<Int>.defaultCapacity)
        XCTAssertEqual(
            "\(QueueError.invalidCapacity(100))",
            "invalid queue capacity 100 bytes: it must be between 4096 and 1073741824")
        XCTAssertEqual("\(QueueError.full)", "the queue is full")
        XCTAssertEqual("\(QueueError.empty)", "the queue is empty")
    }

    func testQueuesUseNoDescriptorsAndLeaveNoZombies() throws {
        let before = openDescriptorCount()
        for _ in 0..<50 {
            let queue = try Queue<Int>()
            try queue.put(1)
            _ = try queue.get()
        }
        XCTAssertEqual(openDescriptorCount(), before)
        let queue = try Queue<Int>()
        let children = (0..<3).map { number in ChildProcess { try queue.put(number) } }
        for child in children { try child.start() }
        XCTAssertEqual(try (0..<3).map { _ in try queue.get(timeout: .seconds(20)) }.sorted(), [0, 1, 2])
        for child in children { try child.join() }
        XCTAssertEqual(zombieChildren(), [])
    }
}

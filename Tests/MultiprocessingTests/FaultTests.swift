import CMultiprocessingShims
import Glibc
import XCTest

@testable import Multiprocessing

/// A message whose payload can be checked by whoever receives it: its bytes are derived from `seq`.
struct FaultFrame: Codable, Equatable, Sendable {
    var seq: Int
    var payload: [UInt8]

    /// Sizes from empty to larger than a socket's buffer, so kills land inside partial writes.
    static func make(_ seq: Int, salt: UInt64) -> FaultFrame {
        var mix = SplitMix64(seed: salt &+ UInt64(seq))
        let size: Int
        switch mix.next() % 8 {
        case 0: size = 0
        case 1: size = Int(mix.next() % 300_000)
        default: size = Int(mix.next() % 2_000)
        }
        return FaultFrame(seq: seq, payload: [UInt8](repeating: UInt8(truncatingIfNeeded: seq), count: size))
    }

    var isIntact: Bool { payload.allSatisfy { $0 == UInt8(truncatingIfNeeded: seq) } }
}

/// SIGKILL at random points of real workloads: every survivor returns or throws a typed error within
/// a bound, nothing promised is lost or duplicated, and nothing is left behind (`Leftovers`).
/// Each test prints its seed; replay a failure with MP_FAULT_SEED=<seed>.
final class FaultTests: XCTestCase {
    // MARK: Pipe peers

    /// A sender is killed after the receiver has taken a random number of messages, mid-stream: the
    /// receiver gets an unbroken, intact prefix of the sequence, then end of file or a truncated
    /// frame, never a hang, a gap, a duplicate or a corrupt message.
    func testPipeSenderKilledAtRandomPoints() throws {
        var random = FaultRandom(#function)
        let leftovers = Leftovers()
        var killed = 0
        var truncated = 0
        for round in 0..<24 {
            let duplex = random.chance(0.5)
            let (receiver, sender) = try Connection<FaultFrame>.makePipe(duplex: duplex)
            let salt = random.next()
            let child = ChildProcess {
                receiver.close()
                var seq = 0
                while true {
                    try sender.send(FaultFrame.make(seq, salt: salt))
                    seq += 1
                }
            }
            try child.start()
            sender.close()
            let killAfter = random.int(0...60)
            let pause = random.microseconds(0...3_000)
            let outcome = bounded(.seconds(20)) { () -> Result<(Int, ConnectionError?), TestFailure> in
                var expected = 0
                if killAfter == 0 {
                    Sys.sleep(for: pause)
                    try? child.kill()
                }
                while true {
                    do throws(ConnectionError) {
                        let frame = try receiver.receive()
                        guard frame.seq == expected, frame.isIntact else { return .failure(TestFailure()) }
                        expected += 1
                        if expected == killAfter {
                            Sys.sleep(for: pause)
                            try? child.kill()
                        }
                    } catch {
                        return .success((expected, error))
                    }
                }
            }
            let context = "round \(round), duplex \(duplex), kill after \(killAfter): \(random.describe)"
            guard let outcome else {
                XCTFail("receive hung: \(context)")
                try child.kill()
                break
            }
            guard case .success(let (received, error)) = outcome else {
                XCTFail("gap, duplicate or corrupt frame: \(context)")
                break
            }
            XCTAssertGreaterThanOrEqual(received, killAfter, context)
            switch error {
            case .endOfFile?: break
            case .truncated?: truncated += 1
            default: XCTFail("unexpected \(String(describing: error)): \(context)")
            }
            try child.join(timeout: .seconds(5))
            XCTAssertEqual(child.exitCode, -SIGKILL, context)
            receiver.close()
            killed += 1
        }
        print("FAULTS pipe-sender: \(killed) senders SIGKILLed mid-stream survived (\(truncated) mid-frame)")
        leftovers.assertNothingLeft(random.describe)
    }

    /// A receiver is killed at a random moment while the parent sends: the parent's send throws
    /// `peerClosed` within a bound, never dies of SIGPIPE, never blocks for ever on a full pipe.
    func testPipeReceiverKilledAtRandomPoints() throws {
        var random = FaultRandom(#function)
        let leftovers = Leftovers()
        var killed = 0
        for round in 0..<24 {
            let duplex = random.chance(0.5)
            let (receiver, sender) = try Connection<FaultFrame>.makePipe(duplex: duplex)
            let child = ChildProcess {
                sender.close()
                while true { _ = try receiver.receive() }
            }
            try child.start()
            receiver.close()
            let delay = random.microseconds(0...20_000)
            let salt = random.next()
            let killer = TestThread {
                Sys.sleep(for: delay)
                try? child.kill()
            }
            let outcome = bounded(.seconds(20)) { () -> ConnectionError? in
                var seq = 0
                while true {
                    do throws(ConnectionError) {
                        try sender.send(FaultFrame.make(seq, salt: salt))
                        seq += 1
                    } catch {
                        return error
                    }
                }
            }
            killer.join()
            let context = "round \(round), duplex \(duplex), kill after \(delay): \(random.describe)"
            XCTAssertEqual(outcome, .some(.peerClosed), context)
            if outcome == nil { break }
            try child.join(timeout: .seconds(5))
            XCTAssertEqual(child.exitCode, -SIGKILL, context)
            sender.close()
            killed += 1
        }
        print("FAULTS pipe-receiver: \(killed) receivers SIGKILLed survived by the sender")
        leftovers.assertNothingLeft(random.describe)
    }

    // MARK: Lock holders

    /// Workers hammer one Lock; random workers are SIGKILLed, often while holding it. Survivors
    /// finish all their iterations; mutual exclusion holds except across a reported take-over from
    /// the dead holder; afterwards the lock is usable.
    func testLockHoldersKilledAtRandom() throws {
        var random = FaultRandom(#function)
        let leftovers = Leftovers()
        var killed = 0
        var recovered = 0
        for round in 0..<6 {
            let lock = try Lock()
            let inside = try RawSharedValue<Int32>(0)
            let recoveries = try RawSharedValue<Int>(0)
            let workerCount = 5
            let workers = (0..<workerCount).map { _ in
                ChildProcess {
                    for _ in 0..<1_500 {
                        guard lock.acquire(timeout: .seconds(10)) else { exitProcess(4) }
                        let previous = inside.value
                        if let recovery = lock.recovery {
                            recoveries.value += 1
                            if previous != 0 && previous != recovery.deadHolderPid { exitProcess(3) }
                        } else if previous != 0 {
                            exitProcess(3)  // someone else is inside: mutual exclusion broken
                        }
                        inside.value = getpid()
                        for _ in 0..<Int.random(in: 0..<2_000) { mp_cpu_relax() }
                        inside.value = 0
                        try lock.release()
                    }
                }
            }
            for worker in workers { try worker.start() }
            var victims: [ChildProcess] = []
            for worker in workers.shuffled(using: &random) where victims.count < 2 {
                Sys.sleep(for: random.microseconds(0...15_000))
                try worker.kill()
                victims.append(worker)
            }
            let context = "round \(round): \(random.describe)"
            for worker in workers {
                try worker.join(timeout: .seconds(30))
                if victims.contains(where: { $0 === worker }) {
                    XCTAssert(
                        worker.exitCode == -SIGKILL || worker.exitCode == 0,
                        "victim \(String(describing: worker.exitCode)): \(context)")
                    if worker.exitCode == -SIGKILL { killed += 1 }
                } else {
                    XCTAssertEqual(
                        worker.exitCode, 0, "survivor (3: exclusion broken, 4: acquire timed out): \(context)")
                }
            }
            XCTAssertTrue(lock.acquire(timeout: Duration.seconds(5)), context)
            if lock.recovery != nil { recoveries.value += 1 }
            try lock.release()
            recovered += recoveries.value
        }
        print("FAULTS lock-holder: \(killed) workers SIGKILLed survived, \(recovered) take-overs from a dead holder")
        leftovers.assertNothingLeft(random.describe)
    }

    // MARK: Barrier parties

    /// Parties loop through a barrier; one is SIGKILLed at a random moment (waiting, passing, in
    /// the action, or between rounds). Every survivor gets `brokenBarrier` within a bound instead of
    /// waiting for ever: within about 100 ms when the victim died inside the barrier (the waiters
    /// notice), within the barrier's timeout when it died between rounds (nobody can tell a dead
    /// party that has not arrived from a slow one). `reset()` makes the barrier usable again.
    func testBarrierPartyKilledAtRandom() throws {
        var random = FaultRandom(#function)
        let leftovers = Leftovers()
        var killedInside = 0
        var killedOutside = 0
        let timeout = Duration.seconds(2)
        for round in 0..<12 {
            let parties = random.int(2...4)
            let actions = try RawSharedValue<Int>(0)
            let barrier = try Barrier(parties: parties, action: { actions.value += 1 }, timeout: timeout)
            let members = (0..<parties).map { _ in
                ChildProcess {
                    do throws(SyncError) {
                        for _ in 0..<100_000 { try barrier.wait() }
                    } catch {
                        exitProcess(error == .brokenBarrier ? 2 : 5)
                    }
                }
            }
            for member in members { try member.start() }
            let victim = members[random.int(0..<parties)]
            Sys.sleep(for: random.microseconds(0...30_000))
            try victim.kill()
            let context = "round \(round), \(parties) parties: \(random.describe)"
            let (_, waited) = try timed {
                for member in members { try member.join(timeout: timeout + .seconds(10)) }
            }
            XCTAssertLessThan(waited, timeout + .seconds(3), context)
            if waited < timeout { killedInside += 1 } else { killedOutside += 1 }
            XCTAssertEqual(victim.exitCode, -SIGKILL, context)
            for member in members where member !== victim {
                XCTAssertEqual(member.exitCode, 2, "a survivor must see the barrier broken: \(context)")
            }
            barrier.reset()
            let again = (0..<parties).map { _ in ChildProcess { try barrier.wait(timeout: .seconds(10)) } }
            for member in again { try member.start() }
            for member in again { try member.join(timeout: .seconds(15)) }
            XCTAssertEqual(again.map(\.exitCode), Array(repeating: 0, count: parties), "after reset: \(context)")
        }
        print(
            "FAULTS barrier-party: \(killedInside + killedOutside) parties SIGKILLed survived "
                + "(\(killedInside) noticed by the waiters, \(killedOutside) ended by the timeout)")
        leftovers.assertNothingLeft(random.describe)
    }

    // MARK: Queue producers and consumers

    /// Producers and consumers share a small bounded queue (both sides block); one producer and one
    /// consumer are SIGKILLed at random moments. Survivors finish within a bound; no item is taken
    /// twice; every item whose put returned is taken, except at most the one a killed consumer had
    /// taken but not yet recorded; at most one item per killed producer arrives without its put
    /// having been recorded (killed between put and the record).
    func testQueueProducersAndConsumersKilledAtRandom() throws {
        var random = FaultRandom(#function)
        let leftovers = Leftovers()
        var killedProducers = 0
        var killedConsumers = 0
        var inFlightLost = 0
        for round in 0..<6 {
            let producers = 3
            let consumers = 3
            let perProducer = 3_000
            let total = producers * perProducer
            let queue = try Queue<Int>(maxSize: random.int(1...64))
            let committed = try RawSharedArray<UInt8>(repeating: 0, count: total)
            let taken = try RawSharedArray<UInt8>(repeating: 0, count: total)
            let producing = (0..<producers).map { producer in
                ChildProcess {
                    for i in 0..<perProducer {
                        try queue.put(producer * perProducer + i)
                        committed[producer * perProducer + i] = 1
                    }
                }
            }
            let consuming = (0..<consumers).map { _ in
                ChildProcess {
                    while true {
                        let id = try queue.get(timeout: .seconds(20))
                        if id < 0 { return }
                        taken[id] &+= 1
                    }
                }
            }
            for process in producing + consuming { try process.start() }
            let producerVictim = producing[random.int(0..<producers)]
            let consumerVictim = consuming[random.int(0..<consumers)]
            var victims = [producerVictim, consumerVictim]
            if random.chance(0.5) { victims.reverse() }
            for victim in victims {
                Sys.sleep(for: random.microseconds(0...20_000))
                try victim.kill()
            }
            let context = "round \(round), maxSize \(queue.maxSize): \(random.describe)"
            let (_, waited) = try timed { () throws in
                for producer in producing { try producer.join(timeout: .seconds(30)) }
                for _ in 0..<consumers { try queue.put(-1, timeout: .seconds(10)) }
                for consumer in consuming { try consumer.join(timeout: .seconds(30)) }
            }
            XCTAssertLessThan(waited, .seconds(30), context)
            for process in producing + consuming {
                if process === producerVictim || process === consumerVictim {
                    XCTAssert(process.exitCode == -SIGKILL || process.exitCode == 0, context)
                } else {
                    XCTAssertEqual(process.exitCode, 0, "survivor: \(context)")
                }
            }
            let producerKilled = producerVictim.exitCode == -SIGKILL
            let consumerKilled = consumerVictim.exitCode == -SIGKILL
            killedProducers += producerKilled ? 1 : 0
            killedConsumers += consumerKilled ? 1 : 0
            while let leftover = try queue.tryGet() {
                if leftover >= 0 { taken[leftover] &+= 1 }  // not taken by anyone yet: count it now
            }
            let committedAll = committed.elements
            let takenAll = taken.elements
            var lost = 0
            var unrecordedPuts = 0
            for id in 0..<total {
                XCTAssertLessThanOrEqual(takenAll[id], 1, "item \(id) taken twice: \(context)")
                if committedAll[id] == 1 && takenAll[id] == 0 { lost += 1 }
                if committedAll[id] == 0 && takenAll[id] == 1 { unrecordedPuts += 1 }
            }
            XCTAssertLessThanOrEqual(lost, consumerKilled ? 1 : 0, "items lost: \(context)")
            XCTAssertLessThanOrEqual(unrecordedPuts, producerKilled ? 1 : 0, "items from nowhere: \(context)")
            inFlightLost += lost
        }
        print(
            "FAULTS queue: \(killedProducers) producers and \(killedConsumers) consumers SIGKILLed survived; "
                + "items in flight lost with a killed consumer: \(inFlightLost); none duplicated")
        leftovers.assertNothingLeft(random.describe)
    }

    // MARK: Pool tasks

    /// Pool workers are SIGKILLed at random moments while tasks stream through (applyAsync and map):
    /// every task either returns its right result or fails with `workerDied` within a bound (none is
    /// lost, none hangs, none gives a wrong result); the pool replaces its workers and keeps working;
    /// after close and join no worker, zygote or descriptor is left.
    func testPoolWorkersKilledAtRandomDuringTasks() throws {
        var random = FaultRandom(#function)
        let leftovers = Leftovers()
        var killed = 0
        var failedTasks = 0
        var succeeded = 0
        for round in 0..<3 {
            let context = "round \(round): \(random.describe)"
            let pool = try Pool<Int, Int>(processes: 3) { x in
                for _ in 0..<(x % 7) * 2_000 { mp_cpu_relax() }
                return x * x
            }
            _ = pool.waitForWorkers()
            let count = 600
            let results = try (0..<count).map { try pool.applyAsync($0) }
            for _ in 0..<3 {
                Sys.sleep(for: random.microseconds(0...10_000))
                let workers = pool.processIDs.workers
                if let victim = workers.randomElement(using: &random), kill(victim, SIGKILL) == 0 { killed += 1 }
            }
            let (_, waited) = timed {
                for (input, result) in results.enumerated() {
                    do throws(PoolError) {
                        let value = try result.get(timeout: .seconds(20))
                        XCTAssertEqual(value, input * input, context)
                        succeeded += 1
                    } catch {
                        if case .workerDied = error { failedTasks += 1 } else { XCTFail("\(error): \(context)") }
                    }
                }
            }
            XCTAssertLessThan(waited, .seconds(20), context)
            // map over the same storm of kills: it either returns every result in order or throws.
            let chunk = random.int(1...50)
            let killer = TestThread {
                Sys.sleep(for: .milliseconds(2))
                if let victim = pool.processIDs.workers.first { kill(victim, SIGKILL) }
            }
            do throws(PoolError) {
                let mapped = try pool.map(Array(0..<2_000), chunkSize: chunk)
                XCTAssertEqual(mapped, (0..<2_000).map { $0 * $0 }, context)
            } catch {
                if case .workerDied = error { failedTasks += 1 } else { XCTFail("map: \(error): \(context)") }
            }
            killer.join()
            killed += 1
            XCTAssertEqual(try pool.map(Array(0..<100)), (0..<100).map { $0 * $0 }, "after the kills: \(context)")
            pool.close()
            try pool.join()
        }
        print(
            "FAULTS pool: \(killed) workers SIGKILLed mid-workload survived; \(failedTasks) tasks failed with "
                + "workerDied, \(succeeded) returned the right result, none lost")
        leftovers.assertNothingLeft(random.describe)
    }

    // MARK: Processes

    /// Children killed at a random moment of their life, from right after fork to their exit:
    /// `join` always returns, the exit code is 0 or −SIGKILL, and nothing is left.
    func testChildrenKilledAtRandomMomentsAreJoinedAndReaped() throws {
        var random = FaultRandom(#function)
        let leftovers = Leftovers()
        var killed = 0
        for round in 0..<300 {
            let life = random.microseconds(0...2_000)
            let child = ChildProcess(daemon: random.chance(0.3)) { Sys.sleep(for: life) }
            try child.start()
            if random.chance(0.5) { Sys.sleep(for: random.microseconds(0...2_000)) }
            try child.kill()
            let (_, waited) = try timed { try child.join(timeout: .seconds(10)) }
            let context = "round \(round): \(random.describe)"
            XCTAssertLessThan(waited, .seconds(5), context)
            XCTAssert(
                child.exitCode == 0 || child.exitCode == -SIGKILL, "\(String(describing: child.exitCode)): \(context)")
            if child.exitCode == -SIGKILL { killed += 1 }
        }
        print("FAULTS process: \(killed) children SIGKILLed at random moments joined and reaped")
        leftovers.assertNothingLeft(random.describe)
    }
}

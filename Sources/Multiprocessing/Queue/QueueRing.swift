// The engine of Queue and JoinableQueue: a ring of length-prefixed encoded items in one anonymous
// shared mapping, under a robust process-shared mutex, with futex conditions for "not empty",
// "not full" (an item slot, and room in bytes) and "all done".
//
// Why it survives SIGKILL at any instruction: the whole state is three 64-bit words, and every
// operation changes exactly one of them, with one store, as its last step (its *commit*):
//
//   tail = (items ever put  << 32) | bytes ever written    put: copy the record, then store tail
//   head = (items ever got  << 32) | bytes ever read       get: copy the record out, then store head
//   done = tasks ever done (JoinableQueue)                  taskDone: store done
//
// Everything else is derived from them: count = tail.items - head.items, bytes in use =
// tail.bytes - head.bytes, unfinished tasks = tail.items - done. (32-bit counters that wrap; the
// differences stay exact because the ring never holds 2^32 items or bytes.) A process killed before
// its commit changed nothing that anyone can see (a put's half-copied bytes lie in free space);
// killed after it, the operation happened (a get's item left with it: the one item in flight). So
// the next process to lock the mutex, told by the kernel that the owner died (EOWNERDEAD), has
// nothing to repair: it only wakes every sleeper so that each re-checks the state.
//
// Wake-ups cannot be lost to a death either: an operation wakes sleepers *before* its commit, while
// it still holds the mutex; a woken sleeper must lock the mutex to look, so it sees the commit, or
// the owner's death. A sleeper that is woken and then killed before it looks may swallow a wake-up
// meant for another: so sleepers sleep in slices of `sleepSlice` and look again.
//
// Speed: no system call unless someone sleeps. The mutex is tried with a short spin before the kernel
// is asked; a consumer that finds the queue empty (or a producer that finds it at maxSize) watches
// the tail (head) for a moment before it sleeps; every wake-up is skipped when nobody sleeps; and
// producers short of *bytes* (a consumer far behind) sleep at once and are woken all together when a
// quarter of the ring is free, so a backlog drains without a wake-up call per item.

import Synchronization

/// Where a fault test may stop a process inside a queue operation, holding the queue's mutex.
package enum QueueFaultPoint: Sendable {
    /// `put`: the record's bytes are in the ring, the tail is not yet advanced.
    case putCopied
    /// `put`: the tail is advanced (committed), the mutex still held.
    case putCommitted
    /// `get`: the record's bytes are copied out, the head is not yet advanced.
    case getCopied
    /// `get`: the head is advanced (committed), the mutex still held.
    case getCommitted
    /// `taskDone`: checked and sleepers woken, the count not yet stored.
    case taskDoneChecked
}

/// The shared ring and this process's view of it (`closed` and the fault hook are per process object).
final class QueueRing: @unchecked Sendable {
    static let minimumCapacity = 4096
    static let maximumCapacity = 1 << 30
    /// 1 MiB: about 87,000 Ints (12 bytes each with their length), and small enough to stay
    /// in the CPU caches of producer and consumer.
    static let defaultCapacity = 1 << 20

    /// Lock: try this many times, pausing 1, 2, 4 ... 64 CPU pauses between tries (`SpinBackoff`, look
    /// first), before sleeping in the kernel. Critical sections are a few hundred nanoseconds of copying.
    static let lockSpins = 20
    /// Empty (or full): watch the tail (or head) this many times, with the same backoff (pause first), before
    /// sleeping on the condition. A producer that is running usually delivers meanwhile, and the
    /// two sides avoid a futex sleep and wake-up (several µs) per item.
    static let watchSpins = 40
    /// Sleepers look at the state at least this often (see the file comment).
    static let sleepSlice = Duration.milliseconds(100)
    /// A timed or non-blocking operation waits at most this long beyond its deadline for the mutex
    /// itself (held only for copying; longer only if its holder is stopped or starved).
    static let lockGrace = Duration.milliseconds(500)

    /// The ring's size in bytes (a power of two).
    let capacity: Int
    private let mask: Int
    /// The most items the queue holds; 0 for no limit but the bytes.
    let maxItems: Int

    private let memory: SharedMemory
    private let mutex: SharedMutex
    /// The mutex's futex word: the owner's thread id (robust futex protocol, a kernel ABI), plus flags.
    private let mutexWord: UnsafeMutablePointer<Atomic<UInt32>>
    private let tail: UnsafeMutablePointer<Atomic<UInt64>>
    private let head: UnsafeMutablePointer<Atomic<UInt64>>
    private let done: UnsafeMutablePointer<Atomic<UInt64>>
    /// The most bytes a producer asleep on `roomForBytes` needs (under the mutex; cleared when they are
    /// all woken, and re-raised by those that sleep again).
    private let bytesNeeded: UnsafeMutablePointer<Atomic<UInt32>>
    /// How many times a locker found the mutex's owner dead (for tests and diagnostics).
    private let recoveries: UnsafeMutablePointer<Atomic<UInt32>>
    private let notEmpty: SharedCondition
    /// Producers waiting for an item slot (`maxSize`): a get wakes one.
    private let notFull: SharedCondition
    /// Producers waiting for bytes in the ring (a big backlog, or a big item): a get wakes them all,
    /// once a quarter of the ring (or what the neediest one needs, if more) is free. Waking them in
    /// batches lets the consumer drain a backlog without a wake-up call per item; a sleeper also looks
    /// for itself at the end of each slice.
    private let roomForBytes: SharedCondition
    private let allDone: SharedCondition
    private let data: UnsafeMutableRawPointer

    /// Set by `close()`, in this process's object only.
    private let closedFlag = Atomic<Bool>(false)
    /// Called at each `QueueFaultPoint` (fault tests set it in a child, to die there).
    var faultHook: (@Sendable (QueueFaultPoint) -> Void)?

    /// A ring of at least `capacity` bytes (rounded up to a power of two).
    init(maxItems: Int, capacity: Int) throws(QueueError) {
        guard maxItems >= 0 && maxItems <= Int(Int32.max) else { throw .invalidMaxSize(maxItems) }
        guard capacity >= Self.minimumCapacity && capacity <= Self.maximumCapacity else {
            throw .invalidCapacity(capacity)
        }
        var size = Self.minimumCapacity
        while size < capacity { size <<= 1 }
        self.capacity = size
        self.mask = size - 1
        self.maxItems = maxItems

        var layout = SharedLayout()
        // The mutex and the three state words share one cache line (40 + 3 × 8 bytes): a lock hand-over
        // moves one line between CPUs.
        let mutexField = SharedMutex.reserve(in: &layout)
        let tailField = layout.reserve(Atomic<UInt64>.self)
        let headField = layout.reserve(Atomic<UInt64>.self)
        let doneField = layout.reserve(Atomic<UInt64>.self)
        layout.startCacheLine()
        let bytesNeededField = layout.reserve(Atomic<UInt32>.self)
        let recoveriesField = layout.reserve(Atomic<UInt32>.self)
        let notEmptyFields = SharedCondition.reserve(in: &layout)
        let notFullFields = SharedCondition.reserve(in: &layout)
        let roomForBytesFields = SharedCondition.reserve(in: &layout)
        let allDoneFields = SharedCondition.reserve(in: &layout)
        let dataOffset = layout.reserve(bytes: size, alignment: 64)
        (memory, mutex) = try QueueError.wrapping { () throws(SystemError) in
            let memory = try SharedMemory(layout)
            return (memory, try SharedMutex(initializing: mutexField, in: memory))
        }
        mutexWord = UnsafeMutableRawPointer(memory.pointer(to: mutexField)).bindMemory(
            to: Atomic<UInt32>.self, capacity: 1)
        tail = memory.pointer(to: tailField)
        head = memory.pointer(to: headField)
        done = memory.pointer(to: doneField)
        bytesNeeded = memory.pointer(to: bytesNeededField)
        recoveries = memory.pointer(to: recoveriesField)
        for word in [tail, head, done] { word.initialize(to: Atomic(0)) }
        bytesNeeded.initialize(to: Atomic(0))
        recoveries.initialize(to: Atomic(0))
        notEmpty = SharedCondition(initializing: notEmptyFields, in: memory)
        notFull = SharedCondition(initializing: notFullFields, in: memory)
        roomForBytes = SharedCondition(initializing: roomForBytesFields, in: memory)
        allDone = SharedCondition(initializing: allDoneFields, in: memory)
        data = memory.base + dataOffset
    }

    // MARK: State

    /// The state now. Without the mutex: head, tail, head again; when both reads of the head agree,
    /// the tail was read while that head was current, so the pair existed at that moment.
    var state: State {
        while true {
            let before = head.pointee.load(ordering: .acquiring)
            let tailWord = tail.pointee.load(ordering: .acquiring)
            if head.pointee.load(ordering: .acquiring) == before {
                return State(head: Position(before), tail: Position(tailWord))
            }
        }
    }

    /// With the mutex held: the state (nobody else can change it now).
    private var lockedState: State {
        State(
            head: Position(head.pointee.load(ordering: .relaxed)), tail: Position(tail.pointee.load(ordering: .relaxed))
        )
    }

    /// Whether a put of the smallest item would have to wait now.
    func isFull(_ state: State) -> Bool {
        (maxItems > 0 && state.count >= maxItems) || capacity - state.usedBytes < Self.recordSize(payload: 1)
    }

    /// Items put and not yet marked done (JoinableQueue).
    var unfinishedTasks: Int {
        while true {
            let before = done.pointee.load(ordering: .acquiring)
            let tailWord = tail.pointee.load(ordering: .acquiring)
            if done.pointee.load(ordering: .acquiring) == before {
                return Int(Position(tailWord).items &- UInt32(truncatingIfNeeded: before))
            }
        }
    }

    /// How many times a locker took the mutex over from an owner that died holding it.
    var recoveredOwnerDeaths: Int { Int(recoveries.pointee.load(ordering: .relaxed)) }

    /// The thread id holding the queue's mutex now, 0 when free (for fault tests that aim a kill).
    var mutexOwner: Int32 {
        Int32(bitPattern: mutexWord.pointee.load(ordering: .relaxed) & 0x3FFF_FFFF)  // FUTEX_TID_MASK
    }

    /// Registered sleepers of (not empty, not full, all done); killed sleepers stay counted.
    var sleeperCounts: (notEmpty: Int, notFull: Int, allDone: Int) {
        (notEmpty.waiterCount, notFull.waiterCount + roomForBytes.waiterCount, allDone.waiterCount)
    }

    var isClosed: Bool { closedFlag.load(ordering: .acquiring) }

    /// Closes this process's object and wakes its sleepers (sleepers elsewhere look and sleep again).
    /// Never waits for long: if the mutex cannot be had within the grace (its holder is stopped), it
    /// wakes them without it, and a sleeper that registers just then notices at the end of its slice.
    func close() {
        closedFlag.store(true, ordering: .releasing)
        let held = lock(until: Deadline.now.adding(Self.lockGrace))
        wakeEveryone()
        if held { unlock() }
    }

    @inline(__always)
    private func checkOpen() throws(QueueError) {
        if closedFlag.load(ordering: .relaxed) { throw .closed }
    }

    // MARK: The mutex

    /// Locks the mutex, spinning briefly before sleeping; false when `deadline` passed first.
    /// A dead owner's mutex is taken over: the state needs no repair (see the file comment), but every
    /// sleeper is woken, in case the dead one had swallowed a wake-up.
    private func lock(until deadline: Deadline) -> Bool {
        var acquisition: MutexAcquisition?
        // Look before trying: a failed try still takes the cache line from the holder.
        let spun = SpinBackoff.spin(looks: Self.lockSpins, .lookFirst) {
            guard mutexWord.pointee.load(ordering: .relaxed) == 0 else { return false }
            acquisition = tryLock()
            return acquisition != nil
        }
        if spun, let acquisition {
            noteAcquisition(acquisition)
            return true
        }
        do {
            acquisition = try mutex.lock(until: deadline)
        } catch {
            preconditionFailure("Queue: locking its mutex failed: \(error)")  // EDEADLK: a bug here
        }
        guard let acquisition else { return false }
        noteAcquisition(acquisition)
        return true
    }

    @inline(__always)
    private func tryLock() -> MutexAcquisition? {
        do {
            return try mutex.tryLock()
        } catch {
            preconditionFailure("Queue: locking its mutex failed: \(error)")
        }
    }

    @inline(__always)
    private func noteAcquisition(_ acquisition: MutexAcquisition) {
        if acquisition == .recoveredFromDeadOwner {
            recoveries.pointee.wrappingAdd(1, ordering: .relaxed)
            wakeEveryone()
        }
    }

    @inline(__always)
    private func unlock() {
        do {
            try mutex.unlock()
        } catch {
            preconditionFailure("Queue: unlocking its mutex failed: \(error)")
        }
    }

    private func wakeEveryone() {
        notEmpty.notifyAll()
        notFull.notifyAll()
        roomForBytes.notifyAll()
        allDone.notifyAll()
    }

    /// How long an operation may wait for the mutex: a little beyond its own deadline.
    @inline(__always)
    private func lockDeadline(_ deadline: Deadline) -> Deadline {
        deadline.isNever ? deadline : max(deadline, .now).adding(Self.lockGrace)
    }

    /// With the mutex held (`held`): lets it go, waits for a change, and locks it again. The first wait
    /// of an operation watches `word` for a short spin; later ones sleep on `condition` for at most a
    /// slice. The caller looks at the state again either way. On return `held` says whether the mutex
    /// is held: false only when `deadline` (plus the grace) passed while waiting for the mutex.
    private func wait(
        on condition: SharedCondition, watching word: UnsafeMutablePointer<Atomic<UInt64>>,
        spin: Bool, until deadline: Deadline, held: inout Bool
    ) {
        if spin {
            let seen = word.pointee.load(ordering: .relaxed)
            unlock()
            held = false
            _ = SpinBackoff.spin(looks: Self.watchSpins, .pauseFirst) {
                word.pointee.load(ordering: .relaxed) != seen
            }
        } else {
            let ticket = condition.prepareToWait()
            unlock()
            held = false
            let sliceEnd = Deadline.now.adding(Self.sleepSlice).earlier(deadline)
            _ = condition.sleep(ticket: ticket, until: sliceEnd)
        }
        held = lock(until: lockDeadline(deadline))
    }

    /// Where an operation that cannot go on waits: the condition it sleeps on, the state word whose
    /// change it watches for, and whether it watches (a short spin) instead of sleeping.
    private typealias Blocker = (
        condition: SharedCondition, word: UnsafeMutablePointer<Atomic<UInt64>>, spin: Bool
    )

    /// The common start of `put` and `get`: locks the mutex and waits, until `deadline`, for a state in
    /// which `ready` says the operation can go on; returns that state with the mutex held (the caller
    /// unlocks). Each time it cannot go on (and the deadline has not passed), `blocker` says where to
    /// wait, told whether this is the operation's first wait.
    /// - Throws: `timedOut` when the deadline (plus the grace, for the mutex) passed; `.closed` when
    ///   this object is (or becomes) closed. The mutex is not held then.
    @inline(__always)
    private func lockWhenReady(
        until deadline: Deadline, orThrow timedOut: QueueError, _ ready: (State) -> Bool,
        blocker: (State, _ firstWait: Bool) -> Blocker
    ) throws(QueueError) -> State {
        try checkOpen()
        var held = lock(until: lockDeadline(deadline))
        guard held else { throw timedOut }
        var handedOver = false
        defer { if held && !handedOver { unlock() } }
        var waits = 0
        while true {
            try checkOpen()
            let current = lockedState
            if ready(current) {
                handedOver = true
                return current
            }
            if deadline.hasPassed {
                if waits > 0 { Trace.record(.queue, .timedOut, tail) }
                throw timedOut
            }
            if waits == 0 { Trace.record(.queue, .waiting, tail) }
            let (condition, word, spin) = blocker(current, waits == 0)
            wait(on: condition, watching: word, spin: spin, until: deadline, held: &held)
            guard held else {
                Trace.record(.queue, .timedOut, tail)
                throw timedOut
            }
            waits += 1
        }
    }

    // MARK: Operations

    /// Appends one record (a 4-byte length, then `payload`), waiting until `deadline` (a passed
    /// deadline: not at all) for room.
    /// - Throws: `.itemTooLarge` at once when the record can never fit; `.full` when the deadline
    ///   passed; `.closed` when this object is (or becomes) closed.
    func put(payload: UnsafeRawBufferPointer, until deadline: Deadline) throws(QueueError) {
        let size = Self.recordSize(payload: payload.count)
        guard size <= capacity else { throw .itemTooLarge(byteCount: size, capacity: capacity) }
        let current = try lockWhenReady(until: deadline, orThrow: .full) { current in
            (maxItems == 0 || current.count < maxItems) && capacity - current.usedBytes >= size
        } blocker: { current, firstWait in
            guard maxItems == 0 || current.count < maxItems else { return (notFull, head, firstWait) }
            // Short of bytes: a backlog the consumers will take a while to drain. Sleep at once.
            if UInt32(size) > bytesNeeded.pointee.load(ordering: .relaxed) {
                bytesNeeded.pointee.store(UInt32(size), ordering: .relaxed)
            }
            return (roomForBytes, head, false)
        }
        defer { unlock() }
        let tailPosition = current.tail
        data.storeBytes(of: UInt32(payload.count), toByteOffset: Int(tailPosition.bytes) & mask, as: UInt32.self)
        copyIn(payload, at: Int(tailPosition.bytes) + 4)
        faultHook?(.putCopied)
        if notEmpty.waiterCount > 0 { notEmpty.notify() }  // before the commit: see the file comment
        let next = Position(items: tailPosition.items &+ 1, bytes: tailPosition.bytes &+ UInt32(size))
        tail.pointee.store(next.word, ordering: .releasing)  // the commit
        Trace.record(.queue, .put, tail, Int32(truncatingIfNeeded: payload.count))
        faultHook?(.putCommitted)
    }

    /// Takes the oldest record, waiting until `deadline` for one, and returns a copy of its payload:
    /// in `small` when it fits, else in a fresh allocation that the caller deallocates.
    /// - Throws: `.empty` when the deadline passed; `.closed`; `.corrupted` when the ring's bytes make
    ///   no sense.
    func get(until deadline: Deadline, into small: UnsafeMutableRawBufferPointer) throws(QueueError)
        -> UnsafeMutableRawBufferPointer
    {
        let current = try lockWhenReady(until: deadline, orThrow: .empty) {
            $0.count > 0
        } blocker: { _, firstWait in
            (notEmpty, tail, firstWait)
        }
        defer { unlock() }
        let headPosition = current.head
        let start = Int(headPosition.bytes) & mask
        let length = Int(data.load(fromByteOffset: start, as: UInt32.self))
        let size = Self.recordSize(payload: length)
        guard size <= current.usedBytes else {
            throw .corrupted(
                "an item at ring offset \(start) claims \(length) bytes, but only \(current.usedBytes) are in use")
        }
        let payload =
            length <= small.count
            ? UnsafeMutableRawBufferPointer(rebasing: small[..<length])
            : UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 16)
        copyOut(from: Int(headPosition.bytes) + 4, into: payload.baseAddress!, count: length)
        faultHook?(.getCopied)
        if notFull.waiterCount > 0 { notFull.notify() }
        if roomForBytes.waiterCount > 0 {
            let free = capacity - (current.usedBytes - size)
            if free >= max(Int(bytesNeeded.pointee.load(ordering: .relaxed)), capacity / 4) {
                bytesNeeded.pointee.store(0, ordering: .relaxed)
                roomForBytes.notifyAll()
            }
        }
        let next = Position(items: headPosition.items &+ 1, bytes: headPosition.bytes &+ UInt32(size))
        head.pointee.store(next.word, ordering: .releasing)  // the commit
        Trace.record(.queue, .got, tail, Int32(truncatingIfNeeded: length))
        faultHook?(.getCommitted)
        return payload
    }

    /// Marks one taken item done; wakes the joiners when none is left unfinished.
    /// - Throws: `.taskDoneTooManyTimes` when every taken item is already done.
    func taskDone() throws(QueueError) {
        _ = lock(until: .never)
        defer { unlock() }
        let current = lockedState
        let doneCount = UInt32(truncatingIfNeeded: done.pointee.load(ordering: .relaxed))
        if doneCount == current.head.items { throw .taskDoneTooManyTimes }
        let next = doneCount &+ 1
        if next == current.tail.items && allDone.waiterCount > 0 { allDone.notifyAll() }
        faultHook?(.taskDoneChecked)
        done.pointee.store(UInt64(next), ordering: .releasing)  // the commit
    }

    /// Waits until every item put has been marked done, at most until `deadline`. False on timeout.
    func join(until deadline: Deadline) -> Bool {
        var held = lock(until: lockDeadline(deadline))
        guard held else { return false }
        defer { if held { unlock() } }
        while lockedState.tail.items != UInt32(truncatingIfNeeded: done.pointee.load(ordering: .relaxed)) {
            if deadline.hasPassed { return false }
            wait(on: allDone, watching: done, spin: false, until: deadline, held: &held)
            guard held else { return false }
        }
        return true
    }

    // MARK: For the async forms (QueueAsync.swift)

    /// The tail word now: what an async get saw before an attempt that found the queue empty.
    var tailWord: UInt64 { tail.pointee.load(ordering: .acquiring) }
    /// The head word now: what an async put saw before an attempt that found no room.
    var headWord: UInt64 { head.pointee.load(ordering: .acquiring) }

    /// Waits, taking and putting nothing, until the tail (`forItem`) or the head (room) is no longer
    /// `seen`, this object is closed, or `deadline` passes. It sleeps on the condition a blocked get
    /// (or put) sleeps on, so the same notifications wake it; like theirs, its sleep is a bounded slice.
    func waitForChange(forItem: Bool, from seen: UInt64, until deadline: Deadline) {
        guard lock(until: deadline) else { return }
        let word = forItem ? tail : head
        if isClosed || word.pointee.load(ordering: .relaxed) != seen || deadline.hasPassed {
            unlock()
            return
        }
        let condition = forItem ? notEmpty : (maxItems > 0 && lockedState.count >= maxItems ? notFull : roomForBytes)
        let ticket = condition.prepareToWait()
        unlock()
        _ = condition.sleep(ticket: ticket, until: deadline)
    }

    // MARK: Copying

    /// Copies `bytes` into the ring at byte position `position`, wrapping at the end.
    @inline(__always)
    private func copyIn(_ bytes: UnsafeRawBufferPointer, at position: Int) {
        guard let source = bytes.baseAddress else { return }
        let start = position & mask
        let first = min(bytes.count, capacity - start)
        (data + start).copyMemory(from: source, byteCount: first)
        if first < bytes.count {
            data.copyMemory(from: source + first, byteCount: bytes.count - first)
        }
    }

    /// Copies `count` bytes out of the ring from byte position `position`, wrapping at the end.
    @inline(__always)
    private func copyOut(from position: Int, into destination: UnsafeMutableRawPointer, count: Int) {
        let start = position & mask
        let first = min(count, capacity - start)
        destination.copyMemory(from: data + start, byteCount: first)
        if first < count {
            (destination + first).copyMemory(from: data, byteCount: count - first)
        }
    }
}

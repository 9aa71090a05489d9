// The engine of Queue and JoinableQueue: a ring of length-prefixed encoded items in one anonymous
// shared mapping, with one robust process-shared mutex for the producers and one for the consumers,
// and futex conditions for "not empty", "not full" (an item slot, and room in bytes) and "all done".
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
// the next process to lock the dead one's mutex, told by the kernel that the owner died
// (EOWNERDEAD), has nothing to repair: it only wakes every sleeper so that each re-checks the state.
//
// Producers change only the tail (under the producers' mutex) and consumers only the head (under
// the consumers' mutex): a producer and a consumer never wait for each other's lock, and between
// one producer and one consumer each mutex stays in its own CPU's cache. A put writes only free
// bytes (behind the head it saw: the head only moves on, so what it saw is a safe bound) and a get
// reads only committed ones (before the tail it saw). Each side keeps the other's word as last seen
// beside its mutex (`headSeen`, `tailSeen`) and reads the real one only when that is not enough,
// so the two CPUs pass a cache line back and forth once per item, not once per word.
//
// Wake-ups: a sleeper raises its condition's *announcement* word, registers, looks at the word it
// waits on once more, and sleeps; an operation commits, then (after a fence) looks at the other
// side's announcement, and only when it is raised clears it and wakes every sleeper there. One of
// the two sees the other, so no wake-up is lost; and a producer running ahead of a consumer that is
// still on its way out of a futex sleep makes one wake-up call, not one per item (each sleeper that
// must sleep again announces itself again). A process killed between its commit and its wake-up,
// or a sleeper that is woken and then killed before it looks (it swallows a wake-up meant for
// another), costs the others at most one `sleepSlice`: sleepers sleep in slices and look again.
//
// Speed: no system call unless someone sleeps. A mutex is tried with a short spin before the kernel
// is asked; a consumer that finds the queue empty (or a producer that finds it at maxSize) watches
// the tail (head) for a moment before it sleeps; every wake-up is skipped when nobody sleeps; and
// producers short of *bytes* (a consumer far behind) sleep at once and are woken all together when a
// quarter of the ring is free, so a backlog drains without a wake-up call per item.

import Glibc
import Synchronization

/// Where a fault test may stop a process inside a queue operation, holding one of the queue's mutexes.
package enum QueueFaultPoint: Sendable {
    /// `put`: the record's bytes are in the ring, the tail is not yet advanced.
    case putCopied
    /// `put`: the tail is advanced (committed), the producers' mutex still held.
    case putCommitted
    /// `get`: the record's bytes are copied out, the head is not yet advanced.
    case getCopied
    /// `get`: the head is advanced (committed), the consumers' mutex still held.
    case getCommitted
    /// `taskDone`: checked, the count not yet stored.
    case taskDoneChecked
}

/// A record's payload in the ring: one piece, or two when it wraps at the ring's end. Valid only
/// inside the `QueueRing.get` body it is given to.
struct RingPayload {
    let first: UnsafeRawBufferPointer
    /// Empty unless the payload wraps.
    let second: UnsafeRawBufferPointer

    var count: Int { first.count + second.count }

    /// Copies the payload's `count` bytes to `destination`.
    @inline(__always)
    func copy(to destination: UnsafeMutableRawPointer) {
        if let source = first.baseAddress { destination.copyMemory(from: source, byteCount: first.count) }
        if let source = second.baseAddress {
            (destination + first.count).copyMemory(from: source, byteCount: second.count)
        }
    }
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
    /// A timed or non-blocking operation waits at most this long beyond its deadline for a mutex
    /// itself (held only for copying; longer only if its holder is stopped or starved).
    static let lockGrace = Duration.milliseconds(500)

    /// The ring's size in bytes (a power of two).
    let capacity: Int
    private let mask: Int
    /// The most items the queue holds; 0 for no limit but the bytes.
    let maxItems: Int

    private let memory: SharedMemory
    /// Held by a put: producers take turns; consumers never take it.
    private let producers: Side
    /// Held by a get or a taskDone: consumers take turns; producers never take it.
    private let consumers: Side
    /// Written by producers only (with `producers` held), read by everyone.
    private let tail: UnsafeMutablePointer<Atomic<UInt64>>
    /// Written by consumers only (with `consumers` held), read by everyone.
    private let head: UnsafeMutablePointer<Atomic<UInt64>>
    /// Written by taskDone only (with `consumers` held).
    private let done: UnsafeMutablePointer<Atomic<UInt64>>
    /// The head as a producer last read it (with `producers` held): at most the real head, so room
    /// computed from it is never more than there is.
    private let headSeen: UnsafeMutablePointer<Atomic<UInt64>>
    /// The tail as a consumer last read it (with `consumers` held): at most the real tail, and never
    /// behind the head (it is stored before any item below it is taken).
    private let tailSeen: UnsafeMutablePointer<Atomic<UInt64>>
    /// The most bytes a producer asleep on `roomForBytes` needs: `roomForBytes`'s announcement
    /// (raised by producers, cleared by the consumer that wakes them all; those that sleep again
    /// raise it again).
    private let bytesNeeded: UnsafeMutablePointer<Atomic<UInt32>>
    /// Raised by a consumer before it sleeps on `notEmpty`, cleared by the producer that wakes them.
    private let notEmptyAnnounced: UnsafeMutablePointer<Atomic<UInt32>>
    /// Raised by a producer before it sleeps on `notFull`, cleared by the consumer that wakes them.
    private let notFullAnnounced: UnsafeMutablePointer<Atomic<UInt32>>
    /// How many times a locker found a mutex's owner dead (for tests and diagnostics).
    private let recoveries: UnsafeMutablePointer<Atomic<UInt32>>
    private let notEmpty: SharedCondition
    /// Producers waiting for an item slot (`maxSize`): a get wakes them (those that find the slot
    /// taken sleep again).
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

    /// One side's mutex and its futex word (the owner's thread id: the robust futex protocol, a kernel
    /// ABI, plus flags).
    private struct Side {
        let mutex: SharedMutex
        let word: UnsafeMutablePointer<Atomic<UInt32>>

        init(_ field: SharedField<pthread_mutex_t>, in memory: SharedMemory) throws(SystemError) {
            mutex = try SharedMutex(initializing: field, in: memory)
            word = UnsafeMutableRawPointer(memory.pointer(to: field)).bindMemory(to: Atomic<UInt32>.self, capacity: 1)
        }

        var owner: Int32 { Int32(bitPattern: word.pointee.load(ordering: .relaxed) & 0x3FFF_FFFF) }  // FUTEX_TID_MASK
    }

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
        // Each side's mutex shares its cache line with what only that side writes: between one
        // producer and one consumer, neither line leaves its CPU. The tail and the head, which the
        // other side reads, have a line each.
        let producersField = SharedMutex.reserve(in: &layout)
        let headSeenField = layout.reserve(Atomic<UInt64>.self)
        let consumersField = SharedMutex.reserve(in: &layout)
        let tailSeenField = layout.reserve(Atomic<UInt64>.self)
        let doneField = layout.reserve(Atomic<UInt64>.self)
        layout.startCacheLine()
        let tailField = layout.reserve(Atomic<UInt64>.self)
        layout.startCacheLine()
        let headField = layout.reserve(Atomic<UInt64>.self)
        layout.startCacheLine()
        let recoveriesField = layout.reserve(Atomic<UInt32>.self)
        // Each announcement beside its condition: a line written only when someone sleeps.
        let notEmptyFields = SharedCondition.reserve(in: &layout)
        let notEmptyAnnouncedField = layout.reserve(Atomic<UInt32>.self)
        let notFullFields = SharedCondition.reserve(in: &layout)
        let notFullAnnouncedField = layout.reserve(Atomic<UInt32>.self)
        let roomForBytesFields = SharedCondition.reserve(in: &layout)
        let bytesNeededField = layout.reserve(Atomic<UInt32>.self)
        let allDoneFields = SharedCondition.reserve(in: &layout)
        let dataOffset = layout.reserve(bytes: size, alignment: 64)
        (memory, producers, consumers) = try QueueError.wrapping { () throws(SystemError) in
            let memory = try SharedMemory(layout)
            return (memory, try Side(producersField, in: memory), try Side(consumersField, in: memory))
        }
        tail = memory.pointer(to: tailField)
        head = memory.pointer(to: headField)
        done = memory.pointer(to: doneField)
        headSeen = memory.pointer(to: headSeenField)
        tailSeen = memory.pointer(to: tailSeenField)
        bytesNeeded = memory.pointer(to: bytesNeededField)
        recoveries = memory.pointer(to: recoveriesField)
        for word in [tail, head, done, headSeen, tailSeen] { word.initialize(to: Atomic(0)) }
        notEmptyAnnounced = memory.pointer(to: notEmptyAnnouncedField)
        notFullAnnounced = memory.pointer(to: notFullAnnouncedField)
        for word in [bytesNeeded, notEmptyAnnounced, notFullAnnounced] { word.initialize(to: Atomic(0)) }
        recoveries.initialize(to: Atomic(0))
        notEmpty = SharedCondition(initializing: notEmptyFields, in: memory)
        notFull = SharedCondition(initializing: notFullFields, in: memory)
        roomForBytes = SharedCondition(initializing: roomForBytesFields, in: memory)
        allDone = SharedCondition(initializing: allDoneFields, in: memory)
        data = memory.base + dataOffset
    }

    // MARK: State

    /// The state now. Without a mutex: head, tail, head again; when both reads of the head agree,
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

    /// Whether a put of the smallest item would have to wait now.
    func isFull(_ state: State) -> Bool {
        (maxItems > 0 && state.count >= maxItems) || capacity - state.usedBytes < Self.recordSize(payload: 1)
    }

    /// Whether a record of `size` bytes fits after `tail`, with the head at `head` (or later).
    @inline(__always)
    private func fits(_ size: Int, tail: Position, head: Position) -> Bool {
        (maxItems == 0 || Int(tail.items &- head.items) < maxItems) && capacity - Int(tail.bytes &- head.bytes) >= size
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

    /// How many times a locker took a mutex over from an owner that died holding it.
    var recoveredOwnerDeaths: Int { Int(recoveries.pointee.load(ordering: .relaxed)) }

    /// The thread ids holding the producers' and the consumers' mutex now, 0 when free (for fault
    /// tests that aim a kill).
    var mutexOwners: (producers: Int32, consumers: Int32) { (producers.owner, consumers.owner) }

    /// Registered sleepers of (not empty, not full, all done); killed sleepers stay counted.
    var sleeperCounts: (notEmpty: Int, notFull: Int, allDone: Int) {
        (notEmpty.waiterCount, notFull.waiterCount + roomForBytes.waiterCount, allDone.waiterCount)
    }

    var isClosed: Bool { closedFlag.load(ordering: .acquiring) }

    /// Closes this process's object and wakes its sleepers (sleepers elsewhere look and sleep again).
    /// Never waits: a sleeper registers before its last look at the flag (see `wait`).
    func close() {
        closedFlag.store(true, ordering: .sequentiallyConsistent)
        wakeEveryone()
    }

    @inline(__always)
    private func checkOpen() throws(QueueError) {
        if closedFlag.load(ordering: .relaxed) { throw .closed }
    }

    // MARK: The mutexes

    /// Locks `side`'s mutex, spinning briefly before sleeping; false when `deadline` passed first.
    /// A dead owner's mutex is taken over: the state needs no repair (see the file comment), but every
    /// sleeper is woken, in case the dead one had swallowed a wake-up.
    @inline(__always)
    private func lock(_ side: Side, until deadline: Deadline) -> Bool {
        // Look before trying: a failed try still takes the cache line from the holder.
        if side.word.pointee.load(ordering: .relaxed) == 0, let acquisition = tryLock(side) {
            noteAcquisition(acquisition)
            return true
        }
        return lockSlowly(side, until: deadline)
    }

    private func lockSlowly(_ side: Side, until deadline: Deadline) -> Bool {
        var acquisition: MutexAcquisition?
        let spun = SpinBackoff.spin(looks: Self.lockSpins, .pauseFirst) {
            guard side.word.pointee.load(ordering: .relaxed) == 0 else { return false }
            acquisition = tryLock(side)
            return acquisition != nil
        }
        if spun, let acquisition {
            noteAcquisition(acquisition)
            return true
        }
        do {
            acquisition = try side.mutex.lock(until: deadline)
        } catch {
            preconditionFailure("Queue: locking its mutex failed: \(error)")  // EDEADLK: a bug here
        }
        guard let acquisition else { return false }
        noteAcquisition(acquisition)
        return true
    }

    @inline(__always)
    private func tryLock(_ side: Side) -> MutexAcquisition? {
        do {
            return try side.mutex.tryLock()
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
    private func unlock(_ side: Side) {
        do {
            try side.mutex.unlock()
        } catch {
            preconditionFailure("Queue: unlocking its mutex failed: \(error)")
        }
    }

    /// After a commit (and a fence): wakes every sleeper on `condition` if one announced itself since
    /// the last such wake-up. Only the caller that clears the announcement makes the call.
    @inline(__always)
    private func wakeIfAnnounced(_ condition: SharedCondition, _ announcement: UnsafeMutablePointer<Atomic<UInt32>>) {
        if announcement.pointee.load(ordering: .relaxed) != 0
            && announcement.pointee.exchange(0, ordering: .sequentiallyConsistent) != 0
        {
            condition.notifyAll()
        }
    }

    private func wakeEveryone() {
        notEmpty.notifyAll()
        notFull.notifyAll()
        roomForBytes.notifyAll()
        allDone.notifyAll()
    }

    /// How long an operation may wait for a mutex: a little beyond its own deadline.
    @inline(__always)
    private func lockDeadline(_ deadline: Deadline) -> Deadline {
        deadline.isNever ? deadline : max(deadline, .now).adding(Self.lockGrace)
    }

    /// With `side`'s mutex held: lets it go, waits for `word` to change from `seen`, and locks it
    /// again. With `spin` it watches the word for a short spin; else it raises `announce`'s word to
    /// at least its value and sleeps on `condition` for at most a slice, registered before its last
    /// look at the word (and at `close`), so that a commit after that look wakes it. Returns whether
    /// the mutex is held again: false only when `deadline` (plus the grace) passed while waiting for
    /// it. The caller looks at the state again either way.
    private func wait(
        _ side: Side, on condition: SharedCondition,
        announcing announce: (UnsafeMutablePointer<Atomic<UInt32>>, UInt32),
        watching word: UnsafeMutablePointer<Atomic<UInt64>>, seen: UInt64, spin: Bool, until deadline: Deadline
    ) -> Bool {
        unlock(side)
        if spin {
            _ = SpinBackoff.spin(looks: Self.watchSpins, .pauseFirst) {
                word.pointee.load(ordering: .relaxed) != seen
            }
        } else {
            _ = announce.0.pointee.max(announce.1, ordering: .sequentiallyConsistent)
            let ticket = condition.prepareToWait()
            let changed =
                word.pointee.load(ordering: .sequentiallyConsistent) != seen
                || closedFlag.load(ordering: .sequentiallyConsistent)
            // A zero-length sleep only unregisters.
            let sliceEnd = changed ? Deadline.now : Deadline.now.adding(Self.sleepSlice).earlier(deadline)
            _ = condition.sleep(ticket: ticket, until: sliceEnd)
        }
        return lock(side, until: lockDeadline(deadline))
    }

    // MARK: Operations

    /// Appends one record (a 4-byte length, then `payload`), waiting until `deadline` (a passed
    /// deadline: not at all) for room.
    /// - Throws: `.itemTooLarge` at once when the record can never fit; `.full` when the deadline
    ///   passed; `.closed` when this object is (or becomes) closed.
    func put(payload: UnsafeRawBufferPointer, until deadline: Deadline) throws(QueueError) {
        let size = Self.recordSize(payload: payload.count)
        guard size <= capacity else { throw .itemTooLarge(byteCount: size, capacity: capacity) }
        try checkOpen()
        guard lock(producers, until: lockDeadline(deadline)) else { throw .full }
        var held = true
        defer { if held { unlock(producers) } }
        var tailPosition: Position
        var waits = 0
        while true {
            try checkOpen()
            tailPosition = Position(tail.pointee.load(ordering: .relaxed))
            if fits(size, tail: tailPosition, head: Position(headSeen.pointee.load(ordering: .relaxed))) { break }
            let headWord = head.pointee.load(ordering: .acquiring)
            headSeen.pointee.store(headWord, ordering: .relaxed)
            let headPosition = Position(headWord)
            if fits(size, tail: tailPosition, head: headPosition) { break }
            if deadline.hasPassed {
                if waits > 0 { Trace.record(.queue, .timedOut, tail) }
                throw .full
            }
            if waits == 0 { Trace.record(.queue, .waiting, tail) }
            let slotShort = maxItems > 0 && Int(tailPosition.items &- headPosition.items) >= maxItems
            // Short of bytes: a backlog the consumers will take a while to drain. Sleep at once.
            held = wait(
                producers, on: slotShort ? notFull : roomForBytes,
                announcing: slotShort ? (notFullAnnounced, 1) : (bytesNeeded, UInt32(size)), watching: head,
                seen: headWord, spin: slotShort && waits == 0, until: deadline)
            guard held else {
                Trace.record(.queue, .timedOut, tail)
                throw .full
            }
            waits += 1
        }
        data.storeBytes(of: UInt32(payload.count), toByteOffset: Int(tailPosition.bytes) & mask, as: UInt32.self)
        copyIn(payload, at: Int(tailPosition.bytes) + 4)
        faultHook?(.putCopied)
        let next = Position(items: tailPosition.items &+ 1, bytes: tailPosition.bytes &+ UInt32(size))
        tail.pointee.store(next.word, ordering: .releasing)  // the commit
        // Then look for sleepers: the fence orders the commit before the look (see the file comment).
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        wakeIfAnnounced(notEmpty, notEmptyAnnounced)
        Trace.record(.queue, .put, tail, Int32(truncatingIfNeeded: payload.count))
        faultHook?(.putCommitted)
    }

    /// Takes the oldest record, waiting until `deadline` for one, and returns what `body` makes of
    /// its payload; `body` runs with the consumers' mutex held, before the commit, so it only copies
    /// (the payload's bytes are free for producers as soon as the mutex is let go).
    /// - Throws: `.empty` when the deadline passed; `.closed`; `.corrupted` when the ring's bytes make
    ///   no sense.
    func get<Result>(until deadline: Deadline, _ body: (RingPayload) -> Result) throws(QueueError) -> Result {
        try checkOpen()
        guard lock(consumers, until: lockDeadline(deadline)) else { throw .empty }
        var held = true
        defer { if held { unlock(consumers) } }
        var headPosition: Position
        var tailPosition: Position
        var waits = 0
        while true {
            try checkOpen()
            headPosition = Position(head.pointee.load(ordering: .relaxed))
            tailPosition = Position(tailSeen.pointee.load(ordering: .relaxed))
            if tailPosition.items != headPosition.items { break }
            let tailWord = tail.pointee.load(ordering: .acquiring)
            tailSeen.pointee.store(tailWord, ordering: .relaxed)
            tailPosition = Position(tailWord)
            if tailPosition.items != headPosition.items { break }
            if deadline.hasPassed {
                if waits > 0 { Trace.record(.queue, .timedOut, tail) }
                throw .empty
            }
            if waits == 0 { Trace.record(.queue, .waiting, tail) }
            held = wait(
                consumers, on: notEmpty, announcing: (notEmptyAnnounced, 1), watching: tail, seen: tailWord,
                spin: waits == 0, until: deadline)
            guard held else {
                Trace.record(.queue, .timedOut, tail)
                throw .empty
            }
            waits += 1
        }
        let start = Int(headPosition.bytes) & mask
        let length = Int(data.load(fromByteOffset: start, as: UInt32.self))
        let size = Self.recordSize(payload: length)
        let usedBytes = Int(tailPosition.bytes &- headPosition.bytes)
        guard size <= usedBytes else {
            throw .corrupted("an item at ring offset \(start) claims \(length) bytes, but only \(usedBytes) are in use")
        }
        let payloadStart = (start + 4) & mask
        let firstCount = min(length, capacity - payloadStart)
        let result = body(
            RingPayload(
                first: UnsafeRawBufferPointer(start: data + payloadStart, count: firstCount),
                second: UnsafeRawBufferPointer(start: data, count: length - firstCount)))
        faultHook?(.getCopied)
        let next = Position(items: headPosition.items &+ 1, bytes: headPosition.bytes &+ UInt32(size))
        head.pointee.store(next.word, ordering: .releasing)  // the commit
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        wakeIfAnnounced(notFull, notFullAnnounced)
        let needed = Int(bytesNeeded.pointee.load(ordering: .relaxed))
        if needed > 0 {
            let free = capacity - Int(Position(tail.pointee.load(ordering: .relaxed)).bytes &- next.bytes)
            if free >= max(needed, capacity / 4) { wakeIfAnnounced(roomForBytes, bytesNeeded) }
        }
        Trace.record(.queue, .got, tail, Int32(truncatingIfNeeded: length))
        faultHook?(.getCommitted)
        return result
    }

    /// Marks one taken item done; wakes the joiners when none is left unfinished.
    /// - Throws: `.taskDoneTooManyTimes` when every taken item is already done.
    func taskDone() throws(QueueError) {
        _ = lock(consumers, until: .never)
        defer { unlock(consumers) }
        let doneCount = UInt32(truncatingIfNeeded: done.pointee.load(ordering: .relaxed))
        if doneCount == Position(head.pointee.load(ordering: .relaxed)).items { throw .taskDoneTooManyTimes }
        faultHook?(.taskDoneChecked)
        let next = doneCount &+ 1
        done.pointee.store(UInt64(next), ordering: .releasing)  // the commit
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if allDone.waiterCount > 0 && next == Position(tail.pointee.load(ordering: .relaxed)).items {
            allDone.notifyAll()
        }
    }

    /// Whether every item put has been marked done.
    private var allTasksDone: Bool {
        Position(tail.pointee.load(ordering: .sequentiallyConsistent)).items
            == UInt32(truncatingIfNeeded: done.pointee.load(ordering: .sequentiallyConsistent))
    }

    /// Waits until every item put has been marked done, at most until `deadline`. False on timeout.
    /// Takes no mutex: it registers on `allDone` before its last look (see `wait`).
    func join(until deadline: Deadline) -> Bool {
        while !allTasksDone {
            if deadline.hasPassed { return false }
            let ticket = allDone.prepareToWait()
            let sliceEnd = allTasksDone ? Deadline.now : Deadline.now.adding(Self.sleepSlice).earlier(deadline)
            _ = allDone.sleep(ticket: ticket, until: sliceEnd)
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
        let word = forItem ? tail : head
        let slotShort = maxItems > 0 && state.count >= maxItems
        let condition = forItem ? notEmpty : (slotShort ? notFull : roomForBytes)
        let announcement = forItem ? notEmptyAnnounced : (slotShort ? notFullAnnounced : bytesNeeded)
        _ = announcement.pointee.max(1, ordering: .sequentiallyConsistent)
        let ticket = condition.prepareToWait()
        let changed =
            word.pointee.load(ordering: .sequentiallyConsistent) != seen
            || closedFlag.load(ordering: .sequentiallyConsistent) || deadline.hasPassed
        _ = condition.sleep(ticket: ticket, until: changed ? .now : deadline)
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
}

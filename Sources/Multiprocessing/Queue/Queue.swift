// Queue: Python's multiprocessing.Queue, a FIFO of Codable items that processes share.
//
// Queue/ holds Queue and JoinableQueue (this file and JoinableQueue.swift), their engine QueueRing
// (a ring in shared memory; QueueRingState.swift says what its words mean), their async forms
// (QueueAsync.swift), the queue as a Waitable for waitForAny (QueueWaitable.swift) and QueueError.
// May depend on SharedState/, Platform/, Codec/ and, for the async forms and waitForAny only, Async/.

import Synchronization

/// A first-in, first-out queue that processes share: create it before forking; then any process
/// may ``put(_:timeout:)-yl1l`` items and any process may ``get(timeout:)-4ik9f`` them, each item exactly once.
/// Items are any `Codable` type; they travel as bytes (the binary codec), so what a consumer gets is a copy.
///
/// ``maxSize`` bounds the number of items (0: no bound but the bytes). `put` waits while the queue is
/// full, `get` while it is empty; `put(_:timeout:)` and `get(timeout:)` give up after the timeout
/// with ``QueueError/full`` or `.empty`, and ``tryPut(_:)``/``tryGet()`` at once. Items from one producer
/// arrive in the order it put them; items of several producers interleave.
///
/// How it works: one anonymous shared mapping holds a ring of bytes (``capacity``, 1 MiB by default)
/// and three counters, with one robust process-shared mutex for the producers and one for the
/// consumers. `put` encodes the item first (outside the lock), then copies it into the ring; `get`
/// copies it out, then decodes it (outside the lock). Numbers and arrays of numbers skip the codec:
/// their bytes go straight into the ring and straight back out into the new value.
///
/// **Better than CPython:**
/// - No feeder thread: `put` has put the item into shared memory when it returns. A child that put
///   items can exit at once (no "join before drain" deadlock), and nothing is lost at exit.
/// - `put` encodes eagerly: an item that cannot be encoded is an error at `put`, never silently
///   dropped; an item too large for the ring is an error at once, never a hang.
/// - ``count``, ``isEmpty`` and ``isFull`` are exact at the moment of the call.
/// - A producer or consumer killed in the middle of an operation (even holding the lock) cannot
///   wedge the queue: the others go on, and nothing is half-put or half-taken. A put killed before
///   it finished did not happen; a get killed after it took the item took it (that one item is lost
///   with the process). See QueueRing.swift for why.
///
/// **No `SimpleQueue`:** CPython's `SimpleQueue` is a pipe and a lock, without a size bound and
/// without the feeder thread that its `Queue` puts behind every `put`. Here the `Queue` has no
/// feeder thread to begin with, and ``maxSize`` 0 means no bound but the bytes, so
/// `Queue(maxSize: 0)` is already that simpler queue: a separate type would teach nothing new.
///
/// Cost: the ring plus a few cache lines, mapped at creation (pages are only used as they are
/// touched; no file descriptor). A put or get is an encode or decode, a lock, a copy and an unlock
/// (about 1,100 instructions for a put and a get of an `Int`); producers and consumers take different
/// locks, and no system call is made unless someone has to sleep. Between one producer and one
/// consumer on a loaded 2-core machine, 5.7–6.8 million `Int`s a second; 1 MiB `[UInt8]` items move
/// at 3.4–4.4 GB/s (3.5–3.7× the time of one `memcpy` of the same bytes, measured in the same
/// run: one copy in, one copy out, and a new array per item). Structs go through the
/// codec and cost more. When the ring's bytes (not `maxSize`) are what is full, waiting producers
/// are woken together once a quarter of the ring is free, or at the latest 0.1 s after their item fits.
public class Queue<Item: Codable>: @unchecked Sendable {
    /// The ring's default size in bytes: 1 MiB.
    public static var defaultCapacity: Int { QueueRing.defaultCapacity }

    /// The most items the queue holds at once; 0 when only the ring's bytes bound it.
    public let maxSize: Int
    let ring: QueueRing
    /// One encoder and one decoder kept for reuse (taken with an atomic exchange, so threads of this
    /// process never share one, and a forked child simply finds the parent's copy or makes a new one).
    private let spareEncoder = Spare<EncoderCore>()
    private let spareDecoder = Spare<DecoderCore>()
    /// For a number type (`Int`, `Double`, `UInt8`, ...): its size, and items travel as their raw
    /// bytes, without the codec (the queue knows their type on both sides, so the codec's type tag
    /// would say nothing new). 0 for every other type. (A plain `Int`, not a generic value: the hot
    /// path then needs no generic type looked up at run time.)
    private let rawSize: Int
    /// For an array of a number type (`[UInt8]`, `[Double]`, ...): items travel as their elements'
    /// bytes, copied straight from the array into the ring and from the ring into a new array (one
    /// copy each way; the codec would add one on each side). Nil for every other type.
    private let rawArray: (any RawArrayItem.Type)?
    /// A codec item's bytes on their way from the ring to the decoder, kept for the next get (it
    /// grows to the largest item taken, at most the ring's size).
    private let spareBytes = Spare<ByteBuffer>()

    /// An empty queue in fresh shared memory. Python's `Queue(maxsize=0)`.
    ///
    /// - Parameters:
    ///   - maxSize: the most items it holds (``put(_:timeout:)-yl1l`` waits when it has that many); 0 for no limit except
    ///     the ring's bytes.
    ///   - capacity: the ring's size in bytes, rounded up to a power of two, from 4 KiB to 1 GiB. Items
    ///     are stored encoded, each with a 4-byte length (an `Int` takes 12 bytes); an item larger
    ///     than the ring is refused by `put`. When the ring is full, `put` waits even below `maxSize`.
    /// - Throws: ``QueueError/invalidMaxSize(_:)``, `.invalidCapacity`, or `.system` when the memory cannot
    ///   be mapped.
    public init(maxSize: Int = 0, capacity: Int = defaultCapacity) throws(QueueError) {
        Tracing.startIfAsked()
        ring = try QueueRing(maxItems: maxSize, capacity: capacity)
        self.maxSize = maxSize
        rawSize = Item.self is any CodecScalar.Type ? MemoryLayout<Item>.size : 0
        rawArray = Item.self as? any RawArrayItem.Type
    }

    /// The ring's size in bytes.
    public final var capacity: Int { ring.capacity }

    // MARK: Putting

    /// Puts `item` at the end of the queue, waiting while it is full: as long as it takes (`timeout`
    /// nil), or at most `timeout` (zero or negative: not at all). Python's `Queue.put(obj, block, timeout)`.
    ///
    /// The item is encoded before anything else, so an item that cannot be encoded is an error here.
    /// When `put` returns, the item is in shared memory: this process may exit at once.
    /// - Throws: ``QueueError/full`` when the timeout passed with the queue still full;
    ///   `.unencodable`; `.itemTooLarge` (at once: it could never fit); `.closed` after ``close()``.
    public final func put(_ item: Item, timeout: Duration? = nil) throws(QueueError) {
        try put(item, until: Deadline(timeout: timeout))
    }

    /// Puts `item` if the queue has room now, without waiting: Python's `put_nowait` (which raises
    /// `queue.Full` where this returns false), named like ``Lock/tryAcquire()``.
    /// - Returns: true when the item was put; false when the queue was full (nothing was put).
    /// - Throws: what ``put(_:timeout:)-yl1l`` throws, except `.full`.
    public final func tryPut(_ item: Item) throws(QueueError) -> Bool {
        do {
            try put(item, until: .now)
            return true
        } catch .full {
            return false
        }
    }

    private func put(_ item: Item, until deadline: Deadline) throws(QueueError) {
        if ring.isClosed { throw .closed }
        try withPayload(of: item) { (payload) throws(QueueError) in try ring.put(payload: payload, until: deadline) }
    }

    /// The bytes `put` stores for `item`: the async put encodes once, on the caller's thread, then waits.
    final func encodedPayload(of item: Item) throws(QueueError) -> [UInt8] {
        try withPayload(of: item) { Array($0) }
    }

    /// Runs `body` with the bytes that stand for `item` in the ring: a number's raw bytes, or its
    /// encoding by a spare encoder (kept for the next call once `body` is done with the bytes).
    /// - Throws: `.unencodable` when the codec refuses `item`; what `body` throws.
    @inline(__always)
    private func withPayload<T>(of item: Item, _ body: (UnsafeRawBufferPointer) throws(QueueError) -> T)
        throws(QueueError) -> T
    {
        if rawSize > 0 {
            // Through a scratch on the stack, not `withUnsafeBytes(of:)`: unspecialized, that one
            // looks a generic type up at run time on every call.
            var scratch: (UInt64, UInt64) = (0, 0)  // the widest number type: 16 bytes
            let size = rawSize
            return try withUnsafeMutableBytes(of: &scratch) { (scratch) throws(QueueError) -> T in
                scratch.baseAddress!.storeBytes(of: item, as: Item.self)
                return try body(UnsafeRawBufferPointer(start: scratch.baseAddress, count: size))
            }
        }
        if rawArray != nil, let array = item as? any RawArrayItem {
            return try array.withRawBytes(body)
        }
        let encoder =
            spareEncoder.take()
            ?? EncoderCore(buffer: ByteBuffer(capacity: 256), maxDepth: BinaryDecoder.defaultMaxDepth)
        defer { spareEncoder.give(encoder) }
        // Keeps a buffer as large as any item the ring can hold: a stream of big items reuses it.
        encoder.buffer.reset(keepingAtMost: ring.capacity)
        do {
            try encoder.encode(item)
        } catch {
            throw .unencodable(error)
        }
        return try body(encoder.buffer.bytes)
    }

    // MARK: Getting

    /// Takes the item at the front of the queue, waiting while it is empty: as long as it takes
    /// (`timeout` nil), or at most `timeout` (zero or negative: not at all). Python's `Queue.get(block, timeout)`.
    /// - Throws: ``QueueError/empty`` when the timeout passed with the queue still empty; `.closed` after
    ///   ``close()``; `.undecodable` when the bytes are not an `Item` (the item is gone).
    public final func get(timeout: Duration? = nil) throws(QueueError) -> Item {
        try get(until: Deadline(timeout: timeout))
    }

    /// Takes the front item if there is one now, without waiting: Python's `get_nowait` (which
    /// raises `queue.Empty` where this returns nil).
    /// - Returns: the front item, or nil when the queue was empty.
    /// - Throws: what ``get(timeout:)-4ik9f`` throws, except `.empty`.
    public final func tryGet() throws(QueueError) -> Item? {
        do {
            return try get(until: .now)
        } catch .empty {
            return nil
        }
    }

    private func get(until deadline: Deadline) throws(QueueError) -> Item {
        if rawSize > 0 { return try getNumber(until: deadline) }
        if rawArray != nil { return try getArray(until: deadline) }
        return try getDecoded(until: deadline)
    }

    /// `get` for a number type. (Each kind of item has its own function: a generic function looks up
    /// at run time every type that any of its paths uses, on every call.)
    private func getNumber(until deadline: Deadline) throws(QueueError) -> Item {
        // Through an aligned scratch on the stack: the payload may be unaligned, or wrap.
        var scratch: (UInt64, UInt64) = (0, 0)  // the widest number type: 16 bytes
        let size = rawSize
        let rightSize = try withUnsafeMutableBytes(of: &scratch) { (scratch) throws(QueueError) -> Bool in
            try ring.get(until: deadline) { payload in
                guard payload.count == size else { return false }
                payload.copy(to: scratch.baseAddress!)
                return true
            }
        }
        guard rightSize else { throw .corrupted("an item whose size is not the \(size) bytes of \(Item.self)") }
        return withUnsafeBytes(of: &scratch) { $0.load(as: Item.self) }
    }

    /// `get` for an array of a number type.
    @inline(never)
    private func getArray(until deadline: Deadline) throws(QueueError) -> Item {
        guard let rawArray, let item = try ring.get(until: deadline, { rawArray.make($0) as? Item }) else {
            throw .corrupted("an item whose size is not a whole number of \(Item.self)'s elements")
        }
        return item
    }

    /// `get` for every other type: through the codec.
    @inline(never)
    private func getDecoded(until deadline: Deadline) throws(QueueError) -> Item {
        // Copied out under the consumers' mutex, decoded after it: decoding runs the item's own code.
        let bytes = spareBytes.take() ?? ByteBuffer(capacity: 256)
        defer { spareBytes.give(bytes) }
        try ring.get(until: deadline) { payload in
            bytes.count = 0
            bytes.reserve(payload.count)
            payload.copy(to: bytes.base)
            bytes.count = payload.count
        }
        let decoder = spareDecoder.take() ?? DecoderCore(maxDepth: BinaryDecoder.defaultMaxDepth)
        defer { spareDecoder.give(decoder) }
        do throws(CodecError) {
            return try decoder.decode(Item.self, from: bytes.bytes)
        } catch {
            throw .undecodable(error)
        }
    }

    // MARK: Looking

    /// How many items are in the queue, exactly, at the moment of the call (another process may
    /// change it at once). Python's `qsize()`. Costs a few memory reads; no lock.
    public final var count: Int { ring.state.count }

    /// Whether the queue holds no item at the moment of the call. Python's `empty()`.
    public final var isEmpty: Bool { ring.state.count == 0 }

    /// Whether a ``put(_:timeout:)-yl1l`` would have to wait at the moment of the call: ``maxSize`` items are in the queue
    /// (or the ring has no room left even for the smallest item). Python's `full()`.
    public final var isFull: Bool { ring.isFull(ring.state) }

    // MARK: Closing

    /// Closes the queue for this process's object: later ``put(_:timeout:)-yl1l`` and ``get(timeout:)-4ik9f``
    /// calls through it throw ``QueueError/closed``, and calls waiting in other threads of this process
    /// throw it too. Other processes are not affected, and the items in the queue stay there for them.
    /// (There is no feeder thread to flush, so nothing like Python's `join_thread()` is needed.)
    public final func close() {
        ring.close()
    }

    /// Whether ``close()`` was called on this object in this process (or before this process was forked).
    public final var isClosed: Bool { ring.isClosed }

    // MARK: For tests

    /// Called in this process at each fault point of an operation, with the queue's mutex held.
    package final var faultHook: (@Sendable (QueueFaultPoint) -> Void)? {
        get { ring.faultHook }
        set { ring.faultHook = newValue }
    }

    /// How many times a process found the queue's mutex held by a process that had died.
    package final var recoveredOwnerDeaths: Int { ring.recoveredOwnerDeaths }

    /// The thread ids that hold the producers' and the consumers' mutex right now; 0 when free.
    package final var mutexOwners: (producers: Int32, consumers: Int32) { ring.mutexOwners }

    /// Registered sleepers on the queue's three conditions (killed sleepers stay counted).
    package final var sleeperCounts: (notEmpty: Int, notFull: Int, allDone: Int) { ring.sleeperCounts }
}

/// An array of a number type, as the queue moves it: its elements' bytes (see `Queue.rawArray`).
protocol RawArrayItem {
    /// Runs `body` with the elements' bytes.
    func withRawBytes<R>(_ body: (UnsafeRawBufferPointer) throws(QueueError) -> R) throws(QueueError) -> R
    /// A new array holding a copy of `payload`; nil when it is not a whole number of elements.
    static func make(_ payload: RingPayload) -> Self?
}

extension Array: RawArrayItem where Element: CodecScalar {
    func withRawBytes<R>(_ body: (UnsafeRawBufferPointer) throws(QueueError) -> R) throws(QueueError) -> R {
        let result = withUnsafeBytes { bytes in Result { () throws(QueueError) in try body(bytes) } }
        return try result.get()
    }

    static func make(_ payload: RingPayload) -> [Element]? {
        let stride = MemoryLayout<Element>.stride
        guard payload.count % stride == 0 else { return nil }
        guard payload.count > 0 else { return [] }
        return [Element](unsafeUninitializedCapacity: payload.count / stride) { elements, initialized in
            payload.copy(to: UnsafeMutableRawPointer(elements.baseAddress!))
            initialized = payload.count / stride
        }
    }
}

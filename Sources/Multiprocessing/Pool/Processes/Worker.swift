// A pool worker: what it is launched with, and its loop (initializer, then jobs until stop).

import Glibc
import Synchronization

/// What one worker needs.
struct WorkerLaunch {
    /// The worker body, fixed at pool creation: it runs the initializer, then the loop.
    struct Template: @unchecked Sendable {
        let body: (WorkerLaunch) -> Never
        let slots: PoolSlots
        let maxTasks: Int?
        /// PoolTuning.workerStartup, given the number of the zygote that forks the worker.
        let startup: (@Sendable (Int) -> Void)?
    }

    let fd: Int32
    let slot: Int
    let name: String
    let slots: PoolSlots
    let maxTasks: Int?
    /// Run just before the worker reports that it started (PoolTuning.workerStartup).
    let startup: (() -> Void)?
}

/// A worker's whole life: the initializer, then jobs until `stop`, end of file or `maxTasks`.
/// Runs only plain code on the thread it was forked on; it writes its answers to its end of the
/// socket itself (gathering writes) and reads jobs with a `FrameBuffer` of its own. Never returns.
func runWorker<Input: Codable, Output: Codable>(
    _ launch: WorkerLaunch,
    initializer: (() throws -> Void)?,
    function: (Input) throws -> Output
) -> Never {
    let me = getpid()
    ProcessTable.shared.becomeChild(
        pid: me, current: ChildProcess(poolProcessNamed: launch.name, pid: me), identity: [])
    let slots = launch.slots
    let output = ByteBuffer(capacity: 64 << 10)
    let encoder = EncoderCore(buffer: output, maxDepth: BinaryDecoder.defaultMaxDepth)
    // Large byte arrays in an answer are sent from their own memory, as the parent sends inputs.
    encoder.attachmentThreshold = OutgoingFrame.attachmentThreshold
    let decoder = DecoderCore(maxDepth: BinaryDecoder.defaultMaxDepth)
    // Jobs are read into a buffer kept up to 1 MiB (a 512 KiB map chunk fits, Pool.chunkBytes):
    // a Connection gives back what a large message made its buffer grow, so each big chunk was
    // read into fresh memory (a sixth of the CPU of a map of 64 KiB items, most in page faults).
    let reader = FrameBuffer(chunk: 1 << 20, initialCapacity: 64 << 10)

    /// The next job's frame (without its length prefix), valid until the next call; blocks. Exits
    /// at end of file or on a read error: the parent is gone.
    func nextFrame() -> UnsafeRawBufferPointer {
        while true {
            switch reader.next(maxLength: PoolFrameHead.maxLength) {
            case .frame(let raw): return raw
            case .tooLarge: exitProcess(2)  // corrupt: the parent sees us die
            case .needs: break
            }
            let result = try? reader.read { (space) throws(SystemError) -> Int? in
                try Sys.readAvailable(launch.fd, into: space.baseAddress!, count: space.count)
            }
            switch result {
            case .data?, .wouldBlock?: continue
            case .endOfFile?, nil: exitProcess(0)
            }
        }
    }

    /// Sends the frame built in `output` (its head and payload) and the arrays attached to it:
    /// one gathering write of the length prefix and every piece. Exits if the parent is gone.
    func send() {
        let frame = OutgoingFrame(buffer: output, attachments: encoder.attachments)
        guard frame.count <= PoolFrameHead.maxLength else { exitProcess(2) }  // the parent sees us die
        var prefix = UInt32(frame.count).littleEndian
        withUnsafeBytes(of: &prefix) { prefix in
            withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2 * frame.attachments.count + 2) { parts in
                var sent = 0
                while sent < 4 + frame.count {
                    var used = 0
                    if sent < 4 {
                        parts[0] = iovec(
                            iov_base: UnsafeMutableRawPointer(mutating: prefix.baseAddress! + sent), iov_len: 4 - sent)
                        used = 1
                    }
                    used = frame.describe(from: max(0, sent - 4), into: parts, at: used)
                    switch try? Sys.writeOnce(
                        launch.fd, UnsafeMutableBufferPointer(rebasing: parts[0..<used]), socket: true)
                    {
                    case .bytes(let count)?: sent += count
                    case .wouldBlock?:  // (the socket blocks; in case it does not)
                        var ready = pollfd(fd: launch.fd, events: Int16(POLLOUT), revents: 0)
                        _ = poll(&ready, 1, -1)
                    case nil: exitProcess(0)  // the parent is gone: nobody wants the result
                    }
                }
            }
        }
        encoder.dropAttachments()
        output.reset(keepingAtMost: 1 << 20)
    }

    /// Replaces what `output` holds with a `failed` frame for the job.
    func fail(id: UInt64, _ failure: RemoteFailure) {
        output.count = 0
        output.appendHead(.failed, id: id)
        try? encoder.encode(failure)
    }

    launch.startup?()
    slots.status(launch.slot).pointee.store(PoolSlots.started(me), ordering: .releasing)
    if let initializer {
        slots.status(launch.slot).pointee.store(PoolSlots.initializing, ordering: .releasing)
        do {
            try initializer()
        } catch {
            output.appendHead(.initializerFailed, id: 0)
            try? encoder.encode(RemoteFailure(error, pid: me))
            send()
            exitProcess(1)
        }
        slots.status(launch.slot).pointee.store(PoolSlots.started(me), ordering: .releasing)
    }

    func runTask(id: UInt64, payload: UnsafeRawBufferPointer) {
        output.appendHead(.result, id: id)
        do {
            let result = try function(try decoder.decode(Input.self, from: payload))
            do throws(CodecError) {
                try encoder.encode(result)
            } catch {
                fail(
                    id: id,
                    RemoteFailure(pid: me, type: "CodecError", description: "cannot encode the result: \(error)"))
            }
        } catch {
            fail(id: id, RemoteFailure(error, pid: me))
        }
    }

    func runChunk(id: UInt64, payload: UnsafeRawBufferPointer) {
        output.appendHead(.chunkResult, id: id)
        do {
            let inputs = try decoder.decode([Input].self, from: payload)
            var outputs: [Output] = []
            outputs.reserveCapacity(inputs.count)
            var outcomes: [ItemOutcome<Output>]? = nil  // only once an input has failed
            for input in inputs {
                do {
                    let result = try function(input)
                    if outcomes == nil { outputs.append(result) } else { outcomes!.append(.success(result)) }
                } catch {
                    if outcomes == nil { outcomes = outputs.map { .success($0) } }
                    outcomes!.append(.failure(RemoteFailure(error, pid: me)))
                }
            }
            do throws(CodecError) {
                if let outcomes {
                    output.count = 0
                    output.appendHead(.chunkMixed, id: id)
                    try encoder.encode(outcomes)
                } else {
                    try encoder.encode(outputs)
                }
            } catch {
                fail(
                    id: id,
                    RemoteFailure(pid: me, type: "CodecError", description: "cannot encode the results: \(error)"))
            }
        } catch {
            fail(id: id, RemoteFailure(error, pid: me))
        }
    }

    /// Runs the job in `raw` (a frame's bytes, used where they were read: no copy into an array)
    /// and builds its answer in `output`; false when the parent took it back first.
    func runJob(_ raw: UnsafeRawBufferPointer) -> Bool {
        guard raw.count >= PoolFrameHead.size else { exitProcess(2) }  // corrupt: the parent sees us die
        let head = PoolFrameHead(at: raw.baseAddress!)
        let kind = FrameKind(rawValue: head.kind)
        if kind == .stop { exitProcess(0) }
        guard kind == .task || kind == .chunk else { exitProcess(2) }
        let id = head.id
        // aux: the job's claim word. Claim it, unless the parent took it back.
        let position = Int(head.aux % UInt64(PoolSlots.claimsPerSlot))
        guard
            slots.claim(launch.slot, position).pointee.compareExchange(
                expected: id, desired: PoolSlots.claimed, ordering: .acquiringAndReleasing
            ).exchanged
        else { return false }
        let payload = UnsafeRawBufferPointer(rebasing: raw[PoolFrameHead.size...])
        let started = Sys.monotonicNanoseconds
        Trace.record(.pool, .taskStarted, id)
        if kind == .task { runTask(id: id, payload: payload) } else { runChunk(id: id, payload: payload) }
        if Trace.isOn {
            let kind = PoolFrameHead(at: output.base).kind
            let failed = kind == FrameKind.failed.rawValue || kind == FrameKind.chunkMixed.rawValue
            Trace.record(.pool, failed ? .taskFailed : .taskFinished, id)
        }
        // aux of the answer: how long the job ran, for the parent's pacing.
        PoolFrameHead.store(aux: UInt64(clamping: Sys.monotonicNanoseconds &- started), at: output.base)
        return true
    }

    var done = 0
    while true {
        guard runJob(nextFrame()) else { continue }
        // The claim stays `claimed` until the parent has the answer: dying while sending it fails
        // the job, rather than running it twice.
        send()
        done += 1
        if let maxTasks = launch.maxTasks, done >= maxTasks { exitProcess(0) }
    }
}

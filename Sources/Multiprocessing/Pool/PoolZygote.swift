// The pool's processes: the zygote, which forks every worker, and the worker loop.
//
// Why a zygote: a replacement worker must be forked long after the pool started, when the parent
// has threads (the pool's own I/O thread at least, often Dispatch or Swift concurrency threads).
// A fork copies only the forking thread; locks held by the others stay locked for ever in the
// child. The zygote is forked once, at pool creation; it has one thread and runs only plain code,
// so every worker it forks, initial or replacement, starts from a clean single-threaded copy.
//
// Parent death: the zygote and the workers ignore SIGINT (Ctrl-C is the parent's to handle) and
// die with their parent. The zygote is forked by the pool's I/O thread and asks for SIGKILL when
// that thread ends (PR_SET_PDEATHSIG fires when the forking *thread* ends, and this one lives as
// long as the pool); it also treats end of file on its control socket as "parent gone". Workers
// ask for SIGKILL when the zygote ends, and treat end of file on their socket the same way.

import Glibc
import Synchronization

/// What the zygote needs, captured in the parent before the fork.
struct ZygoteLaunch {
    let controlFd: Int32
    let parentPid: pid_t
    /// The signal mask of the thread that created the pool: the workers get it.
    let workerMask: sigset_t
    /// Descriptors of the parent's pools (this one's parent end included) that the zygote must not
    /// keep open: a copy would hide the end of file their owners wait for.
    let descriptorsToClose: [Int32]
    let worker: WorkerLaunch.Template
}

/// What one worker needs.
struct WorkerLaunch {
    /// The worker body, fixed at pool creation: it runs the initializer, then the loop.
    struct Template: @unchecked Sendable {
        let body: (WorkerLaunch) -> Never
        let slots: PoolSlots
        let maxTasks: Int?
    }

    let fd: Int32
    let slot: Int
    let name: String
    let slots: PoolSlots
    let maxTasks: Int?
}

/// The pool's shared memory, made before the zygote is forked: for each worker slot, a status word
/// and 64 claim words.
///
/// Claims make prefetching safe. The parent may send a worker a few jobs ahead, each with a claim
/// word holding its id. Before it runs a job the worker swaps the id for `claimed`; if the swap
/// fails, the parent took the job back (`stolen`) to give it to an idle worker, and the worker skips
/// it. So a job runs at most once, an idle worker never waits while another holds unstarted work,
/// and when a worker dies the parent knows exactly which of its jobs had started.
struct PoolSlots: @unchecked Sendable {
    static let claimsPerSlot = 64
    /// 1 status word + 64 claims, padded to whole cache lines.
    static let wordsPerSlot = 72
    /// A claim word: the worker has started the job.
    static let claimed = UInt64.max
    /// A claim word: the parent took the job back.
    static let stolen = UInt64.max - 1
    /// The status word while the worker runs the initializer.
    static let initializing: UInt64 = 1

    /// The status word once the worker with this pid is past its own start-up (the runtime's part,
    /// before any job): the parent gives a worker that never gets there a bounded time.
    static func started(_ pid: pid_t) -> UInt64 {
        UInt64(UInt32(bitPattern: pid)) << 2 | 2
    }

    /// Run by each worker just before it reports that it started (tests make it hang, to stand for
    /// a worker stuck at start-up).
    nonisolated(unsafe) package static var startupHook: (() -> Void)?

    let words: UnsafeMutablePointer<Atomic<UInt64>>

    static func byteCount(processes: Int) -> Int {
        processes * wordsPerSlot * MemoryLayout<Atomic<UInt64>>.stride
    }

    func status(_ slot: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        words + slot * Self.wordsPerSlot
    }

    func claim(_ slot: Int, _ position: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        words + slot * Self.wordsPerSlot + 8 + position
    }
}

/// The zygote's whole life. Never returns.
func runZygote(_ launch: ZygoteLaunch) -> Never {
    let me = getpid()
    ProcessTable.shared.becomeChild(
        pid: me, current: ChildProcess(poolProcessNamed: "PoolZygote", pid: me), identity: [])
    Sys.setParentDeathSignal(SIGKILL)
    if getppid() != launch.parentPid { Sys.exitImmediately(0) }  // the parent died before prctl
    Sys.ignoreSignal(SIGINT)
    Sys.defaultSignal(SIGCHLD)  // a parent that ignores SIGCHLD would leave no status to reap
    for fd in launch.descriptorsToClose { Sys.close(fd) }
    Sys.setSignalMask(launch.workerMask)
    Sys.redirectStdinToDevNull()
    let control = launch.controlFd
    guard let childExits = try? Sys.childExitDescriptor() else { Sys.exitImmediately(1) }
    var live: Set<pid_t> = []

    func killAllAndExit() -> Never {
        for pid in live { _ = Glibc.kill(pid, SIGKILL) }
        for pid in live { _ = try? Sys.reap(pid) }
        Sys.exitImmediately(0)
    }

    func reply(_ message: ControlMessage, passing descriptor: Int32? = nil) {
        do {
            try message.send(on: control, passing: descriptor)
        } catch {
            killAllAndExit()  // EPIPE: the parent is gone
        }
    }

    func spawn(slot: Int, number: Int) {
        let ends: (Int32, Int32)
        do {
            ends = try Sys.socketPair(.stream)
        } catch {
            reply(ControlMessage(.spawnFailed, Int64(slot), Int64(number), Int64(error.errno)))
            return
        }
        let (parentEnd, workerEnd) = ends
        ProcessTable.shared.prepareToFork(installExitHandler: false)
        let pid = Glibc.fork()
        if pid == 0 {
            Sys.close(control)
            Sys.close(childExits)
            Sys.close(parentEnd)
            Sys.setSignalMask(launch.workerMask)
            Sys.setParentDeathSignal(SIGKILL)
            if getppid() != me { Sys.exitImmediately(0) }
            let template = launch.worker
            template.body(
                WorkerLaunch(
                    fd: workerEnd, slot: slot, name: "PoolWorker-\(number)",
                    slots: template.slots, maxTasks: template.maxTasks))
        }
        let forkError = Sys.errno
        Sys.close(workerEnd)
        if pid < 0 {
            Sys.close(parentEnd)
            reply(ControlMessage(.spawnFailed, Int64(slot), Int64(number), Int64(forkError)))
            return
        }
        live.insert(pid)
        ProcessTable.shared.forked(childPid: pid)
        reply(ControlMessage(.spawned, Int64(slot), Int64(number), Int64(pid)), passing: parentEnd)
        Sys.close(parentEnd)
    }

    var buffer = [UInt8](repeating: 0, count: ControlMessage.size)
    var entries = [
        pollfd(fd: control, events: Int16(POLLIN), revents: 0),
        pollfd(fd: childExits, events: Int16(POLLIN), revents: 0),
    ]
    while true {
        entries[0].revents = 0
        entries[1].revents = 0
        guard (try? Sys.pollAll(&entries, deadline: nil)) != nil else { killAllAndExit() }
        if entries[1].revents != 0 {
            Sys.drainEvents(childExits)
            while let (pid, status) = Sys.reapAnyChild() {
                live.remove(pid)
                switch status {
                case .exited(let code): reply(ControlMessage(.died, Int64(pid), 0, Int64(code)))
                case .signaled(let signal): reply(ControlMessage(.died, Int64(pid), 1, Int64(signal)))
                }
            }
        }
        if entries[0].revents != 0 {
            let receipt = buffer.withUnsafeMutableBytes { try? Sys.receivePacket(control, into: $0, wait: false) }
            switch receipt {
            case .received(let count, let descriptor)?:
                if let descriptor { Sys.close(descriptor) }
                guard count == ControlMessage.size else { continue }
                let message = buffer.withUnsafeBytes { ControlMessage(bytes: $0) }
                switch ControlMessage.Kind(rawValue: message.kind) {
                case .spawn?: spawn(slot: Int(message.a), number: Int(message.b))
                case .kill?:
                    let pid = pid_t(truncatingIfNeeded: message.a)
                    if live.contains(pid) { _ = Glibc.kill(pid, SIGKILL) }
                case .terminate?, .exit?: killAllAndExit()
                default: continue
                }
            case .wouldBlock?: continue
            case .endOfFile?, nil: killAllAndExit()  // the parent is gone
            }
        }
    }
}

extension ExitStatus {
    /// From the zygote's `died` message: b = 0 exited, 1 signaled; c = the code or signal.
    init(kind: Int64, value: Int64) {
        self = kind == 0 ? .exited(Int32(truncatingIfNeeded: value)) : .signaled(Int32(truncatingIfNeeded: value))
    }
}

/// A worker's whole life: the initializer, then jobs until `stop`, end of file or `maxTasks`.
/// Runs only plain code on the thread it was forked on; its end of the socket is a `Connection`.
/// Never returns.
func runWorker<Input: Codable, Output: Codable>(
    _ launch: WorkerLaunch,
    initializer: (() throws -> Void)?,
    function: (Input) throws -> Output
) -> Never {
    let me = getpid()
    ProcessTable.shared.becomeChild(
        pid: me, current: ChildProcess(poolProcessNamed: launch.name, pid: me), identity: [])
    let slots = launch.slots
    let connection = Connection<[UInt8]>(fd: launch.fd, kind: .duplex, maxMessageSize: FrameHeader.maxLength)
    let output = ByteBuffer(capacity: 64 << 10)
    let encoder = EncoderCore(buffer: output, maxDepth: BinaryDecoder.defaultMaxDepth)
    let decoder = DecoderCore(maxDepth: BinaryDecoder.defaultMaxDepth)

    /// Sends the frame built in `output` (its head and payload).
    func send() {
        do {
            try connection.sendBytes(Array(output.bytes))
        } catch {
            exitProcess(0)  // the parent is gone: nobody wants the result
        }
        output.reset(keepingAtMost: 1 << 20)
    }

    /// Replaces what `output` holds with a `failed` frame for the job.
    func fail(id: UInt64, _ failure: RemoteFailure) {
        output.count = 0
        output.appendHead(.failed, id: id)
        try? encoder.encode(failure)
    }

    PoolSlots.startupHook?()
    slots.status(launch.slot).pointee.store(PoolSlots.started(me), ordering: .releasing)
    if let initializer {
        slots.status(launch.slot).pointee.store(PoolSlots.initializing, ordering: .releasing)
        do {
            try initializer()
        } catch {
            output.appendHead(.initializerFailed, id: 0)
            try? encoder.encode(RemoteFailure(error))
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
                fail(id: id, RemoteFailure(type: "CodecError", description: "cannot encode the result: \(error)"))
            }
        } catch {
            fail(id: id, RemoteFailure(error))
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
                    outcomes!.append(.failure(RemoteFailure(error)))
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
                fail(id: id, RemoteFailure(type: "CodecError", description: "cannot encode the results: \(error)"))
            }
        } catch {
            fail(id: id, RemoteFailure(error))
        }
    }

    var done = 0
    while true {
        let frame: [UInt8]
        do {
            frame = try connection.receiveBytes()
        } catch {
            exitProcess(0)  // end of file: the parent is gone
        }
        guard frame.count >= FrameHeader.headSize else { exitProcess(2) }  // corrupt: the parent sees us die
        let ran = frame.withUnsafeBytes { raw -> Bool in
            let kind = FrameKind(rawValue: raw[0])
            if kind == .stop { exitProcess(0) }
            guard kind == .task || kind == .chunk else { exitProcess(2) }
            let id = raw.loadUnaligned(fromByteOffset: 1, as: UInt64.self)
            // aux: the job's claim word. Claim it, unless the parent took it back.
            let position = Int(raw.loadUnaligned(fromByteOffset: 9, as: UInt64.self) % UInt64(PoolSlots.claimsPerSlot))
            guard
                slots.claim(launch.slot, position).pointee.compareExchange(
                    expected: id, desired: PoolSlots.claimed, ordering: .acquiringAndReleasing
                ).exchanged
            else { return false }
            let payload = UnsafeRawBufferPointer(rebasing: raw[FrameHeader.headSize...])
            let started = Sys.monotonicNanoseconds
            if kind == .task { runTask(id: id, payload: payload) } else { runChunk(id: id, payload: payload) }
            // aux of the answer: how long the job ran, for the parent's pacing.
            (output.base + 9).storeBytes(of: UInt64(clamping: Sys.monotonicNanoseconds &- started), as: UInt64.self)
            return true
        }
        guard ran else { continue }
        // The claim stays `claimed` until the parent has the answer: dying while sending it fails
        // the job, rather than running it twice.
        send()
        done += 1
        if let maxTasks = launch.maxTasks, done >= maxTasks { exitProcess(0) }
    }
}

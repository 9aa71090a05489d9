// The engine's side of the zygote: forking it, its control messages, spawning and retiring
// workers, and replacing a zygote that stopped answering.

import Glibc
import Synchronization

extension PoolEngine {
    /// Forks a zygote on the control socket's zygote end (I/O thread), which is then closed here.
    func forkZygote() throws(SystemError) -> pid_t {
        let parentPid = ProcessTable.shared.pid
        zygotesForked += 1
        let number = zygotesForked
        let (pid, forkError): (pid_t, Int32) = PoolDescriptors.lock.withLock {
            let toClose = Array(PoolDescriptors.open.subtracting([zygoteEnd]))
            ProcessTable.shared.prepareToFork(installExitHandler: false)
            let pid = Glibc.fork()
            if pid == 0 {
                runZygote(
                    ZygoteLaunch(
                        controlFd: zygoteEnd, parentPid: parentPid, workerMask: workerMask,
                        descriptorsToClose: toClose, number: number, worker: template))
            }
            return (pid, Sys.errno)
        }
        PoolDescriptors.close(zygoteEnd)
        if pid < 0 { throw SystemError("fork", errno: forkError) }
        ProcessTable.shared.forked(childPid: pid)
        monitor.withLock { zygote = pid }
        return pid
    }

    /// Whether a spawn request waits for the zygote's answer.
    var isSpawning: Bool { spawnAskedAt.contains { $0 != nil } }

    /// Since when the zygote has owed the oldest answer it has not given yet, if any.
    func zygoteOwesAnswerSince() -> ContinuousClock.Instant? {
        var oldest: ContinuousClock.Instant?
        for case let instant? in spawnAskedAt { oldest = min(oldest ?? instant, instant) }
        for case let worker? in workers {
            if let instant = worker.endedAt { oldest = min(oldest ?? instant, instant) }
            if let instant = worker.startingSince { oldest = min(oldest ?? instant, instant) }
        }
        return oldest
    }

    /// Workers that reported they started stop being watched; a worker that has not after the
    /// timeout is killed (its jobs had not started: they go to the others). The second in a row
    /// means the zygote's copy of the program is stuck (a lock inherited held): it is replaced.
    func checkStartingWorkers() {
        let now = ContinuousClock.now
        for case let worker? in workers {
            guard let since = worker.startingSince else { continue }
            let status = slots.status(worker.slot).pointee.load(ordering: .acquiring)
            if status == PoolSlots.started(worker.pid) || status == PoolSlots.initializing {
                worker.startingSince = nil
                stuckStarts = 0
                zygoteReplacements = 0  // this zygote works
            } else if now - since >= answerTimeout {
                worker.startingSince = nil
                stuckStarts += 1
                markEndOfFile(worker)  // kills it through the zygote, which reports its death
            }
        }
        if stuckStarts >= 2 {
            stuckStarts = 0
            replaceZygote()
        }
    }

    /// The zygote stopped answering: kills it (its workers die with it), settles their jobs, and
    /// forks a new zygote that forks new workers. After several in a row, the pool is broken.
    func replaceZygote() {
        zygoteReplacements += 1
        guard zygoteReplacements <= Self.maxZygoteReplacements else {
            breakPool(
                .broken(
                    reason: "its zygote process or its new workers kept getting stuck "
                        + "(\(Self.maxZygoteReplacements) zygotes replaced in a row)"))
            return
        }
        let old = monitor.withLock { () -> pid_t in
            defer { zygote = 0 }
            return zygote
        }
        if old > 0 {
            _ = Glibc.kill(old, SIGKILL)
            _ = try? Sys.reap(old)
        }
        // Its workers were sent SIGKILL, their parent-death signal, before it could be reaped: none
        // of them runs any more, so their claims say exactly which jobs had started.
        for case let worker? in workers { _ = retire(worker, status: .signaled(SIGKILL), checkInitializer: false) }
        PoolDescriptors.close(controlFd)
        for slot in 0..<processes {
            spawnAskedAt[slot] = nil
            retryAt[slot] = nil
        }
        do throws(SystemError) {
            (controlFd, zygoteEnd) = try Self.makeControlSocket()
            _ = try forkZygote()
        } catch {
            breakPool(.system(error))
            return
        }
        let wanted = monitor.withLock { phase == .running || (phase == .closed && !queue.isEmpty) }
        if wanted {
            for slot in 0..<processes { requestSpawn(slot) }
        }
    }

    func handleControlMessages() {
        var buffer = [UInt8](repeating: 0, count: ControlMessage.size)
        while true {
            // Received under the registry lock: the descriptor it may carry is registered before
            // another pool could fork a zygote that would inherit it unregistered.
            let receipt = buffer.withUnsafeMutableBytes { raw in
                PoolDescriptors.lock.withLock { () -> Result<Sys.PacketReceipt, SystemError> in
                    let result = Result { () throws(SystemError) in
                        try Sys.receivePacket(controlFd, into: raw, wait: false)
                    }
                    if case .success(.received(_, let fd?)) = result { PoolDescriptors.open.insert(fd) }
                    return result
                }
            }
            switch receipt {
            case .success(.wouldBlock):
                return
            case .success(.endOfFile), .failure:
                breakPool(.broken(reason: "its zygote process ended"))
                return
            case .success(.received(let count, let fd)):
                guard count == ControlMessage.size else {
                    if let fd { PoolDescriptors.close(fd) }
                    continue
                }
                switch buffer.withUnsafeBytes({ ControlMessage(bytes: $0) }) {
                case .spawned(let slot, let number, let pid)?:
                    guard let fd else {
                        // The socket did not arrive (descriptor table full): that worker is no use.
                        sendToZygote(.kill(pid: pid))
                        spawnFailed(slot: slot, error: SystemError("recvmsg (a worker's socket)", errno: EMFILE))
                        continue
                    }
                    workerStarted(slot: slot, number: number, pid: pid, fd: fd)
                case .spawnFailed(let slot, _, let errno)?:
                    if let fd { PoolDescriptors.close(fd) }
                    spawnFailed(slot: slot, error: SystemError("fork", errno: errno))
                case .died(let pid, let status)?:
                    if let fd { PoolDescriptors.close(fd) }
                    workerDied(pid: pid, status: status)
                default:
                    if let fd { PoolDescriptors.close(fd) }
                }
            }
        }
    }

    func sendToZygote(_ message: ControlMessage) {
        // None while one is being replaced: the old one is gone, the new one not forked yet.
        guard monitor.withLock({ zygote }) > 0 else { return }
        do throws(SystemError) {
            try message.send(on: controlFd)
        } catch {
            breakPool(.broken(reason: "its zygote process ended"))
        }
    }

    func requestSpawn(_ slot: Int) {
        lastWorkerNumber += 1
        spawnAskedAt[slot] = ContinuousClock.now
        retryAt[slot] = nil
        sendToZygote(.spawn(slot: slot, number: lastWorkerNumber))
    }

    /// Forks that failed are tried again after a pause, as long as there is work for the worker.
    func retrySpawns() {
        guard retryAt.contains(where: { $0 != nil }) else { return }
        let wanted = monitor.withLock { phase == .running || (phase == .closed && !queue.isEmpty) }
        let now = ContinuousClock.now
        for slot in 0..<processes {
            guard let instant = retryAt[slot] else { continue }
            if !wanted {
                retryAt[slot] = nil
            } else if instant <= now {
                requestSpawn(slot)
            }
        }
    }

    func workerStarted(slot: Int, number: Int, pid: pid_t, fd: Int32) {
        guard slot >= 0 && slot < processes, workers[slot] == nil else {
            PoolDescriptors.close(fd)
            return
        }
        spawnAskedAt[slot] = nil
        try? Sys.setNonBlocking(fd)
        let worker = WorkerState(slot: slot, name: "PoolWorker-\(number)", pid: pid, fd: fd)
        worker.startingSince = ContinuousClock.now
        workers[slot] = worker
        monitor.withLock { livePids[slot] = pid }
        monitor.broadcast()
    }

    func spawnFailed(slot: Int, error: SystemError) {
        guard slot >= 0 && slot < processes else { return }
        spawnAskedAt[slot] = nil
        retryAt[slot] = ContinuousClock.now + .milliseconds(100)
        // With no worker at all, queued work would wait for ever: fail it now.
        if workers.allSatisfy({ $0 == nil }) && !isSpawning {
            let queued = monitor.withLock { queue.removeAll() }
            for job in queued { job.sink.fail(job, .system(error)) }
        }
    }

    func workerDied(pid: pid_t, status: ExitStatus) {
        guard let worker = workers.first(where: { $0?.pid == pid }) ?? nil else { return }
        if retire(worker, status: status) { requestSpawn(worker.slot) }
    }

    /// Settles the jobs of a worker that has died: the one it had started fails, the others go
    /// back to the queue. Returns whether it should be replaced.
    func retire(_ worker: WorkerState, status: ExitStatus, checkInitializer: Bool = true) -> Bool {
        // Everything it wrote before it died is in the socket: take it first.
        receive(from: worker)
        if checkInitializer && slots.status(worker.slot).pointee.load(ordering: .acquiring) == PoolSlots.initializing {
            breakPool(.initializerFailed(worker: worker.name, description: "the worker \(status) while running it"))
        }
        var unanswered: [PoolJob] = []
        for entry in worker.inflight.removeAll() {
            if slots.claim(worker.slot, entry.position).pointee.load(ordering: .acquiring) == PoolSlots.claimed {
                entry.job.sink.fail(
                    entry.job,
                    worker.violation.map { .broken(reason: $0) }
                        ?? .workerDied(worker: worker.name, pid: worker.pid, status: status))
            } else {
                unanswered.append(entry.job)
            }
        }
        let respawn = monitor.withLock { () -> Bool in
            queue.prepend(unanswered)  // never started: they run elsewhere
            requeued += unanswered.count
            livePids[worker.slot] = nil
            return phase == .running || (phase == .closed && !queue.isEmpty)
        }
        PoolDescriptors.close(worker.fd)
        workers[worker.slot] = nil
        return respawn
    }
}

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
        // Under the descriptor lock: no other pool opens or receives a descriptor while we fork.
        let forked: Result<pid_t, SystemError> = PoolDescriptors.lock.withLock {
            let toClose = Array(PoolDescriptors.open.subtracting([zygoteEnd]))
            let result = Result { () throws(SystemError) in try ProcessTable.fork(installExitHandler: false) }
            if case .success(0) = result {
                runZygote(
                    ZygoteLaunch(
                        controlFd: zygoteEnd, parentPid: parentPid, workerMask: workerMask,
                        descriptorsToClose: toClose, number: number, worker: template))
            }
            return result
        }
        PoolDescriptors.close(zygoteEnd)
        let pid = try forked.get()
        monitor.withLock { zygote = pid }
        return pid
    }

    /// Carries out what the scheduler decided, in order.
    func perform(_ actions: [PoolScheduler<PoolJob>.Action]) {
        for action in actions {
            switch action {
            case .requestSpawn(let slot, let number): sendToZygote(.spawn(slot: slot, number: number))
            case .kill(let pid): sendToZygote(.kill(pid: pid))
            case .replaceZygote: replaceZygote()
            case .breakPool(let reason): breakPool(.broken(reason: reason))
            }
        }
    }

    /// Workers that reported they started stop being watched; a worker that has not after the
    /// timeout is killed through the zygote (its jobs had not started: they go to the others). The
    /// second in a row means the zygote's copy of the program is stuck: it is replaced.
    func checkStartingWorkers() {
        let slots = self.slots
        perform(
            scheduler.checkStartingWorkers(at: ContinuousClock.now) { worker in
                let status = slots.status(worker.slot).pointee.load(ordering: .acquiring)
                let started = status == PoolSlots.started(worker.pid) || status == PoolSlots.initializing
                return started ? .started : .starting
            })
    }

    /// The zygote stopped answering: kills it (its workers die with it), settles their jobs, and
    /// forks a new zygote that forks new workers. After several in a row, the pool is broken.
    func replaceZygote() {
        if let refusal = scheduler.beginZygoteReplacement() {
            perform([refusal])
            return
        }
        let old = monitor.withLock { () -> pid_t in
            defer { zygote = 0 }
            return zygote
        }
        if old > 0 {
            try? Sys.signal(old, SIGKILL)
            Trace.recordExit(of: old, try? Sys.reap(old))
        }
        // Its workers were sent SIGKILL, their parent-death signal, before it could be reaped: none
        // of them runs any more, so their claims say exactly which jobs had started.
        for slot in channels.indices where channels[slot] != nil {
            _ = retire(slot: slot, status: .signaled(SIGKILL), checkInitializer: false)
        }
        PoolDescriptors.close(controlFd)
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
                        spawnFailed(
                            slot: slot, number: number, error: SystemError("recvmsg (a worker's socket)", errno: EMFILE)
                        )
                        continue
                    }
                    workerStarted(slot: slot, number: number, pid: pid, fd: fd)
                case .spawnFailed(let slot, let number, let errno)?:
                    if let fd { PoolDescriptors.close(fd) }
                    spawnFailed(slot: slot, number: number, error: SystemError("fork", errno: errno))
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
        perform([scheduler.requestSpawn(slot: slot, at: ContinuousClock.now)])
    }

    /// Forks that failed are tried again after a pause, as long as there is work for the worker.
    func retrySpawns() {
        guard scheduler.hasSpawnsToRetry else { return }
        let wanted = monitor.withLock { phase == .running || (phase == .closed && !queue.isEmpty) }
        perform(scheduler.retrySpawns(at: ContinuousClock.now, wanted: wanted))
    }

    func workerStarted(slot: Int, number: Int, pid: pid_t, fd: Int32) {
        guard scheduler.workerStarted(slot: slot, number: number, pid: pid, at: ContinuousClock.now) else {
            PoolDescriptors.close(fd)
            return
        }
        try? Sys.setNonBlocking(fd)
        channels[slot] = WorkerChannel(slot: slot, name: "PoolWorker-\(number)", fd: fd)
        monitor.withLock { livePids[slot] = pid }
        monitor.broadcast()
    }

    /// Worker `number` could not be started. While the pool starts, the pool fails (the run loop
    /// then kills the zygote and the workers it started; queued jobs, later calls and `join()` get
    /// the error); later it is retried.
    func spawnFailed(slot: Int, number: Int, error: SystemError) {
        let failure = PoolError.workerStartFailed(worker: "PoolWorker-\(number)", error: error)
        switch scheduler.spawnFailed(slot: slot, at: ContinuousClock.now) {
        case .startFailed:
            breakPool(failure)
        case .retryWithNoWorker:
            // With no worker at all, queued work would wait for ever: fail it now.
            let queued = monitor.withLock { queue.removeAll() }
            for job in queued { job.sink.fail(job, failure) }
        case .retry:
            break
        }
    }

    func workerDied(pid: pid_t, status: ExitStatus) {
        guard let slot = scheduler.slot(ofPid: pid) else { return }
        if retire(slot: slot, status: status) { requestSpawn(slot) }
    }

    /// Settles the jobs of a worker that has died: the one it had started fails, the others go
    /// back to the queue. Returns whether it should be replaced.
    func retire(slot: Int, status: ExitStatus, checkInitializer: Bool = true) -> Bool {
        guard let channel = channels[slot], let worker = scheduler.workers[slot] else { return false }
        // Everything it wrote before it died is in the socket: take it first.
        receive(from: channel)
        if checkInitializer && slots.status(slot).pointee.load(ordering: .acquiring) == PoolSlots.initializing {
            breakPool(.initializerFailed(worker: channel.name, description: "the worker \(status) while running it"))
        }
        let slots = self.slots
        let (failed, unstarted) = scheduler.retire(slot: slot) { sent in
            slots.claim(slot, sent.position).pointee.load(ordering: .acquiring) == PoolSlots.claimed
        }
        let error =
            channel.violation.map { PoolError.broken(reason: $0) }
            ?? .workerDied(worker: channel.name, pid: worker.pid, status: status)
        for job in failed { job.sink.fail(job, error) }
        let respawn = monitor.withLock { () -> Bool in
            queue.prepend(unstarted)  // never started: they run elsewhere
            requeued += unstarted.count
            livePids[slot] = nil
            return phase == .running || (phase == .closed && !queue.isEmpty)
        }
        PoolDescriptors.close(channel.fd)
        channels[slot] = nil
        return respawn
    }
}

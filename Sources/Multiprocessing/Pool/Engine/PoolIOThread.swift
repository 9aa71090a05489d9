// The pool's I/O thread: its loop, job assignment, the workers' sockets, and the pool's end.

import Glibc
import Synchronization

extension PoolEngine {
    func ioThreadMain() {
        // A runtime thread: in the fork gate except while it waits (see ForkGate). It forks the
        // zygote in the gate, so that fork does not wait for itself.
        ForkGate.threadBegan()
        defer { ForkGate.threadEnding() }
        let result = Result { () throws(SystemError) in try forkZygote() }
        monitor.withLock {
            startup = result
            if case .failure = result { finished = true }
        }
        forked.store(true, ordering: .releasing)
        monitor.broadcast()
        guard case .success = result else { return }
        for slot in 0..<processes { requestSpawn(slot) }
        run()
    }

    /// With `monitor` held: gives queued jobs to the least loaded workers with spare capacity; once
    /// the queue is empty, a worker with nothing to do takes back the last unstarted job of the
    /// busiest one (the scheduler decides; this writes the claim words and frames).
    func assignJobs() {
        for assignment in scheduler.assign(from: &queue) { carryOut(assignment) }
        guard queue.isEmpty else { return }
        for idle in scheduler.idleSlots {
            guard let takeBack = scheduler.takeBack(for: idle) else { return }
            // Fails when the worker has just started it: then it is no longer queued there.
            guard
                slots.claim(takeBack.victim, takeBack.sent.position).pointee.compareExchange(
                    expected: takeBack.sent.id, desired: PoolSlots.stolen, ordering: .acquiringAndReleasing
                ).exchanged
            else { continue }
            stolen += 1
            takeBack.sent.job.renumber(makeJobID())  // the victim still reads the old frame, and skips it
            carryOut(scheduler.commit(takeBack))
        }
    }

    /// Hands a job to a worker: its claim word, then its frame into the worker's queue.
    func carryOut(_ assignment: PoolScheduler<PoolJob>.Assignment) {
        let job = assignment.job
        slots.claim(assignment.slot, assignment.position).pointee.store(job.id, ordering: .releasing)
        job.setClaimPosition(assignment.position)
        channels[assignment.slot]!.enqueue(job.frame, attachments: job.attachments)
        Trace.record(.pool, .assigned, job.id, Int32(truncatingIfNeeded: assignment.slot))
    }

    /// Whether nothing more may be written to the worker in `slot` (it is ending).
    func cannotWrite(_ slot: Int) -> Bool {
        scheduler.workers[slot]?.writeFailed ?? true
    }

    func run() {
        var entries: [pollfd] = []
        var owners: [WorkerChannel?] = []
        while true {
            var current = Phase.running
            var drained = false
            monitor.withLock {
                current = phase
                if phase == .running || phase == .closed { assignJobs() }
                drained = phase == .closed && queue.isEmpty
            }
            switch current {
            case .terminating:
                shutDown(failingWith: .terminated)
                return
            case .broken(let error):
                shutDown(failingWith: error)
                return
            default:
                break
            }
            if drained {
                switch scheduler.drain() {
                case .finished:
                    shutDown(failingWith: nil)
                    return
                case .stop(let stops):
                    for slot in stops { channels[slot]!.enqueueStop() }
                case .busy:
                    break
                }
            }
            for case let channel? in channels where channel.hasPendingOutput && !cannotWrite(channel.slot) {
                flush(channel)
            }
            if drained && scheduler.everyWorkerStopped {
                // Their stops are sent (or their sockets' end will say the same): the zygote
                // reaps them while this thread ends the pool, rather than reporting each death.
                shutDown(failingWith: nil)
                return
            }

            entries.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            entries.append(pollfd(fd: wakeFd, events: Int16(POLLIN), revents: 0))
            entries.append(pollfd(fd: controlFd, events: Int16(POLLIN), revents: 0))
            owners.append(nil)
            owners.append(nil)
            for case let channel? in channels where scheduler.workers[channel.slot]?.hasEnded == false {
                let events = POLLIN | (channel.hasPendingOutput && !cannotWrite(channel.slot) ? POLLOUT : 0)
                entries.append(pollfd(fd: channel.fd, events: Int16(events), revents: 0))
                owners.append(channel)
            }
            let deadline = scheduler.pollDeadline()
            let mustLoop = monitor.withLock { () -> Bool in
                if phase != current { return true }
                let spare = scheduler.hasSpareCapacity
                if phase == .running && !queue.isEmpty && spare { return true }
                wakeOnSubmit = spare
                return false
            }
            if mustLoop { continue }
            do throws(SystemError) {
                ForkGate.leave()  // parked in poll: a fork may go ahead
                defer { ForkGate.enter() }
                _ = try Sys.pollAll(&entries, deadline: deadline)
            } catch {
                breakPool(.system(error))
                continue
            }
            monitor.withLock { wakeOnSubmit = false }
            if entries[0].revents != 0 { Sys.drainEvents(wakeFd) }
            for index in 2..<entries.count where entries[index].revents != 0 {
                guard let channel = owners[index] else { continue }
                let revents = Int32(entries[index].revents)
                if revents & (POLLIN | POLLHUP | POLLERR) != 0 { receive(from: channel) }
                if revents & POLLOUT != 0 && !cannotWrite(channel.slot) { flush(channel) }
            }
            if entries[1].revents != 0 { handleControlMessages() }
            retrySpawns()
            checkStartingWorkers()
            if scheduler.zygoteAnswerIsOverdue(at: ContinuousClock.now) { replaceZygote() }
        }
    }

    /// Sends what the worker's socket takes now.
    func flush(_ worker: WorkerChannel) {
        do throws(SystemError) {
            try worker.flush()
        } catch {
            // EPIPE: it is ending. Keep reading what it wrote; its death report comes from the zygote.
            scheduler.writeFailed(slot: worker.slot)
        }
    }

    func markEndOfFile(_ worker: WorkerChannel) {
        // A worker closes its socket only by ending; make sure it does, so its death is reported.
        if let pid = scheduler.streamEnded(slot: worker.slot, at: ContinuousClock.now) { sendToZygote(.kill(pid: pid)) }
    }

    /// Reads and handles everything the worker has sent.
    func receive(from worker: WorkerChannel) {
        while scheduler.workers[worker.slot]?.hasEnded == false {
            let result: FrameBuffer.ReadResult
            do throws(SystemError) {
                result = try worker.reader.read { (space) throws(SystemError) -> Int? in
                    try Sys.readAvailable(worker.fd, into: space.baseAddress!, count: space.count)
                }
            } catch {
                markEndOfFile(worker)
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .endOfFile:
                markEndOfFile(worker)
                return
            case .data(let filled):
                do throws(ProtocolViolation) {
                    try handleFrames(from: worker)
                } catch {
                    // Its running job fails when its death (which we cause) is reported.
                    worker.violation = "\(worker.name) sent a corrupt message (\(error)) and was stopped"
                    markEndOfFile(worker)
                    return
                }
                // A read that did not fill the buffer took everything there was: poll says when
                // there is more (saves a read that would only say EAGAIN).
                if !filled { return }
            }
        }
    }

    func handleFrames(from worker: WorkerChannel) throws(ProtocolViolation) {
        while let frame = try worker.reader.nextFrame() {
            if frame.kind == FrameKind.initializerFailed.rawValue {
                let description = PoolAnswer.remoteFailure(frame, decoder: decoder)?.description ?? "?"
                breakPool(.initializerFailed(worker: worker.name, description: description))
                continue
            }
            let job = try scheduler.answered(slot: worker.slot, id: frame.id, ranFor: frame.aux)
            job.sink.finish(job, answer: frame, worker: worker.name, decoder: decoder)
        }
    }

    func breakPool(_ error: PoolError) {
        monitor.withLock {
            switch phase {
            case .running, .closed: phase = .broken(error)
            default: break
            }
        }
    }

    /// The end of the I/O thread. `error` nil: a graceful end (closed, every job done, every worker
    /// gone or told to stop: the zygote reaps them, then exits). Otherwise kills everything and
    /// fails every unfinished job with `error`.
    func shutDown(failingWith error: PoolError?) {
        // Not sendToZygote: a zygote that is already gone must not turn this end into "broken".
        if let error {
            try? ControlMessage.terminate.send(on: controlFd)
            let queued = monitor.withLock { queue.removeAll() }
            for job in scheduler.abandonAll() { job.sink.fail(job, error) }
            for job in queued { job.sink.fail(job, error) }
        } else {
            try? ControlMessage.exit.send(on: controlFd)
        }
        _ = scheduler.abandonAll()  // (a graceful end has none in flight)
        for case let channel? in channels { PoolDescriptors.close(channel.fd) }
        channels = Array(repeating: nil, count: processes)
        let zygotePid = monitor.withLock { zygote }
        ForkGate.leave()  // waiting for the zygote to end: a fork may go ahead meanwhile
        if zygotePid > 0 {
            // Gracefully, it first waits for its workers to run their exit handlers (as long as
            // they take, as Python's join() waits for them); else 2 s, then it is killed.
            var status =
                error == nil
                ? try? Sys.reap(zygotePid) : try? Sys.reap(zygotePid, deadline: ContinuousClock.now + .seconds(2))
            if status == nil {
                try? Sys.signal(zygotePid, SIGKILL)
                status = try? Sys.reap(zygotePid)
            }
            Trace.recordExit(of: zygotePid, status)
        }
        ForkGate.enter()
        PoolDescriptors.close(controlFd)
        monitor.withLock {
            if phase == .terminating { phase = .terminated }
            livePids = [:]
            finished = true
            PoolDescriptors.close(wakeFd)  // under the lock: close() and terminate() signal it only before
        }
        monitor.broadcast()
    }
}

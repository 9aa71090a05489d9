// The pool's I/O thread: its loop, job assignment, the workers' sockets, and the pool's end.

import Glibc
import Synchronization

extension PoolEngine {
    func ioThreadMain() {
        let result = Result { () throws(SystemError) in try forkZygote() }
        monitor.withLock {
            startup = result
            if case .failure = result { finished = true }
        }
        monitor.broadcast()
        guard case .success = result else { return }
        for slot in 0..<processes { requestSpawn(slot) }
        run()
    }

    var depthLimit: Int {
        guard let nanoseconds = jobNanoseconds else { return 1 }
        return max(1, min(Self.maxDepth, Int(Self.queuedWorkBudget / max(nanoseconds, 1))))
    }

    func canTake(_ worker: WorkerState, depth: Int) -> Bool {
        if worker.endOfFile || worker.writeFailed || worker.stopping || worker.inflight.count >= depth { return false }
        if let maxTasksPerChild, worker.sent >= maxTasksPerChild { return false }
        return true
    }

    /// With `monitor` held: gives queued jobs to the least loaded workers with spare capacity; once
    /// the queue is empty, a worker with nothing to do takes back the last unstarted job of the
    /// busiest one.
    func assignJobs() {
        let depth = depthLimit
        while let job = queue.first {
            var best: WorkerState?
            for case let worker? in workers where canTake(worker, depth: depth) {
                if best == nil || worker.inflight.count < best!.inflight.count { best = worker }
            }
            guard let worker = best else { return }
            _ = queue.popFirst()
            send(job, to: worker)
        }
        for case let idle? in workers where idle.inflight.isEmpty && canTake(idle, depth: depth) {
            var victim: WorkerState?
            for case let busy? in workers where busy.inflight.count >= 2 {
                if victim == nil || busy.inflight.count > victim!.inflight.count { victim = busy }
            }
            guard let victim, let last = victim.inflight.last else { return }
            // Fails when the worker has just started it: then it is no longer queued there.
            guard
                slots.claim(victim.slot, last.position).pointee.compareExchange(
                    expected: last.job.id, desired: PoolSlots.stolen, ordering: .acquiringAndReleasing
                ).exchanged
            else { continue }
            _ = victim.inflight.popLast()
            victim.freePositions |= 1 << UInt64(last.position)
            victim.sent -= 1
            stolen += 1
            last.job.renumber(makeJobID())  // the victim still reads the old frame, and skips it
            send(last.job, to: idle)
        }
    }

    /// Hands a job to a worker: its claim word, then its frame into the worker's output.
    func send(_ job: PoolJob, to worker: WorkerState) {
        let position = worker.freePositions.trailingZeroBitCount
        worker.freePositions &= ~(1 << UInt64(position))
        slots.claim(worker.slot, position).pointee.store(job.id, ordering: .releasing)
        job.setClaimPosition(position)
        worker.inflight.append(InFlight(job: job, position: position))
        worker.output.append(job.frame.bytes)
        worker.sent += 1
    }

    /// With `monitor` held: whether some worker could take a job now.
    func hasSpareCapacity() -> Bool {
        let depth = depthLimit
        return workers.contains { $0.map { canTake($0, depth: depth) } ?? false }
    }

    func run() {
        var entries: [pollfd] = []
        var owners: [WorkerState?] = []
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
                var anyWorker = false
                for case let worker? in workers {
                    anyWorker = true
                    if worker.inflight.isEmpty && !worker.stopping {
                        worker.stopping = true
                        worker.output.finishFrame(startedAt: worker.output.startFrame(.stop, id: 0))
                    }
                }
                if !anyWorker && !isSpawning {
                    shutDown(failingWith: nil)
                    return
                }
            }
            for case let worker? in workers where worker.hasPendingOutput && !worker.writeFailed { flush(worker) }

            entries.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            entries.append(pollfd(fd: wakeFd, events: Int16(POLLIN), revents: 0))
            entries.append(pollfd(fd: controlFd, events: Int16(POLLIN), revents: 0))
            owners.append(nil)
            owners.append(nil)
            for case let worker? in workers where !worker.endOfFile {
                let events = POLLIN | (worker.hasPendingOutput && !worker.writeFailed ? POLLOUT : 0)
                entries.append(pollfd(fd: worker.fd, events: Int16(events), revents: 0))
                owners.append(worker)
            }
            var deadline: ContinuousClock.Instant?
            for case let instant? in retryAt { deadline = min(deadline ?? instant, instant) }
            if let owed = zygoteOwesAnswerSince() {
                let instant = owed + answerTimeout
                deadline = min(deadline ?? instant, instant)
            }
            let mustLoop = monitor.withLock { () -> Bool in
                if phase != current { return true }
                let spare = hasSpareCapacity()
                if phase == .running && !queue.isEmpty && spare { return true }
                wakeOnSubmit = spare
                return false
            }
            if mustLoop { continue }
            do throws(SystemError) {
                _ = try Sys.pollAll(&entries, deadline: deadline)
            } catch {
                breakPool(.system(error))
                continue
            }
            monitor.withLock { wakeOnSubmit = false }
            if entries[0].revents != 0 { Sys.drainEvents(wakeFd) }
            for index in 2..<entries.count where entries[index].revents != 0 {
                guard let worker = owners[index] else { continue }
                let revents = Int32(entries[index].revents)
                if revents & (POLLIN | POLLHUP | POLLERR) != 0 { receive(from: worker) }
                if revents & POLLOUT != 0 && !worker.writeFailed { flush(worker) }
            }
            if entries[1].revents != 0 { handleControlMessages() }
            retrySpawns()
            checkStartingWorkers()
            if let owed = zygoteOwesAnswerSince(), ContinuousClock.now - owed >= answerTimeout {
                replaceZygote()
            }
        }
    }

    /// Sends what the worker's socket takes now.
    func flush(_ worker: WorkerState) {
        do throws(SystemError) {
            let sent = try Sys.sendAvailable(
                worker.fd, worker.output.base + worker.outputSent,
                count: worker.output.count - worker.outputSent)
            worker.outputSent += sent
            if worker.outputSent == worker.output.count {
                worker.output.reset(keepingAtMost: 1 << 20)
                worker.outputSent = 0
            }
        } catch {
            // EPIPE: it is ending. Keep reading what it wrote; its death report comes from the zygote.
            worker.output.reset()
            worker.outputSent = 0
            worker.writeFailed = true
        }
    }

    func markEndOfFile(_ worker: WorkerState) {
        guard !worker.endOfFile else { return }
        worker.endOfFile = true
        worker.endedAt = ContinuousClock.now
        worker.startingSince = nil  // its fate is now the zygote's death report
        // A worker closes its socket only by ending; make sure it does, so its death is reported.
        sendToZygote(.kill(pid: worker.pid))
    }

    /// Reads and handles everything the worker has sent.
    func receive(from worker: WorkerState) {
        while !worker.endOfFile {
            let result: FrameReader.ReadResult
            do throws(SystemError) {
                result = try worker.reader.readAvailable(from: worker.fd)
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

    func handleFrames(from worker: WorkerState) throws(ProtocolViolation) {
        while let frame = try worker.reader.nextFrame() {
            if frame.kind == FrameKind.initializerFailed.rawValue {
                let description = PoolAnswer.remoteFailure(frame, decoder: decoder)?.description ?? "?"
                breakPool(.initializerFailed(worker: worker.name, description: description))
                continue
            }
            guard let head = worker.inflight.first, head.job.id == frame.id else {
                throw ProtocolViolation(description: "an answer to job \(frame.id), which it was not running")
            }
            _ = worker.inflight.popFirst()
            worker.freePositions |= 1 << UInt64(head.position)
            let job = head.job
            let nanoseconds = Double(frame.aux)
            jobNanoseconds = jobNanoseconds.map { $0 + (nanoseconds - $0) / 8 } ?? nanoseconds
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
    /// gone). Otherwise kills everything and fails every unfinished job with `error`.
    func shutDown(failingWith error: PoolError?) {
        // Not sendToZygote: a zygote that is already gone must not turn this end into "broken".
        if let error {
            try? ControlMessage.terminate.send(on: controlFd)
            let queued = monitor.withLock { queue.removeAll() }
            for case let worker? in workers {
                for entry in worker.inflight.removeAll() { entry.job.sink.fail(entry.job, error) }
            }
            for job in queued { job.sink.fail(job, error) }
        } else {
            try? ControlMessage.exit.send(on: controlFd)
        }
        for case let worker? in workers { PoolDescriptors.close(worker.fd) }
        workers = Array(repeating: nil, count: processes)
        let zygotePid = monitor.withLock { zygote }
        if zygotePid > 0 && (try? Sys.reap(zygotePid, deadline: ContinuousClock.now + .seconds(2))) == nil {
            _ = Glibc.kill(zygotePid, SIGKILL)
            _ = try? Sys.reap(zygotePid)
        }
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

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
    /// 1 for the pool's first zygote, then one more for each replacement.
    let number: Int
    let worker: WorkerLaunch.Template
}

/// The zygote's whole life. Never returns.
func runZygote(_ launch: ZygoteLaunch) -> Never {
    let me = Sys.processID  // refreshed by the fork's child handler: no getpid
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
    // An array, a stack buffer and no Set: the zygote forks the first worker only after this
    // set-up, and every first use of a generic type here (its metadata, a Set's hashing) is run
    // again in each new zygote, on copied pages, while the pool waits for its first worker.
    var live: [pid_t] = []

    func killAllAndExit() -> Never {
        for pid in live { try? Sys.signal(pid, SIGKILL) }
        for pid in live { Trace.recordExit(of: pid, try? Sys.reap(pid)) }
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
            ends = try Sys.socketPair(.stream, nonBlocking: false)
        } catch {
            reply(.spawnFailed(slot: slot, number: number, errno: error.errno))
            return
        }
        let (parentEnd, workerEnd) = ends
        let pid: pid_t
        do {
            pid = try ProcessTable.fork(installExitHandler: false, singleThreaded: true)
        } catch {
            Sys.close(workerEnd)
            Sys.close(parentEnd)
            reply(.spawnFailed(slot: slot, number: number, errno: error.errno))
            return
        }
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
                    slots: template.slots, maxTasks: template.maxTasks,
                    startup: template.startup.map { hook in { hook(launch.number) } }))
        }
        Sys.close(workerEnd)
        live.append(pid)
        reply(.spawned(slot: slot, number: number, pid: pid), passing: parentEnd)
        Sys.close(parentEnd)
    }

    func serve(_ entries: UnsafeMutableBufferPointer<pollfd>, _ buffer: UnsafeMutableRawBufferPointer) -> Never {
        entries[0] = pollfd(fd: control, events: Int16(POLLIN), revents: 0)
        entries[1] = pollfd(fd: childExits, events: Int16(POLLIN), revents: 0)
        while true {
            entries[0].revents = 0
            entries[1].revents = 0
            guard (try? Sys.poll(entries, until: nil)) != nil else { killAllAndExit() }
            if entries[0].revents != 0 {
                switch try? Sys.receivePacket(control, into: buffer, wait: false) {
                case .received(let count, let descriptor)?:
                    if let descriptor { Sys.close(descriptor) }
                    guard count == ControlMessage.size else { continue }
                    switch ControlMessage(bytes: UnsafeRawBufferPointer(buffer)) {
                    case .spawn(let slot, let number)?: spawn(slot: slot, number: number)
                    case .kill(let pid)?:
                        if live.contains(pid) { try? Sys.signal(pid, SIGKILL) }
                    case .terminate?: killAllAndExit()
                    case .exit?:
                        // The pool closed: its workers were told to stop. Let them end as they do.
                        for pid in live { Trace.recordExit(of: pid, try? Sys.reap(pid)) }
                        Sys.exitImmediately(0)
                    default: continue
                    }
                case .wouldBlock?: continue
                case .endOfFile?, nil: killAllAndExit()  // the parent is gone
                }
            }
            // Deaths after messages: a closing pool's `exit` comes with its workers' deaths, and then
            // needs no death reports (the parent is waiting for this process to end, not reading).
            if entries[1].revents != 0 {
                Sys.drainEvents(childExits)
                while let (pid, status) = Sys.reapAnyChild() {
                    live.removeAll { $0 == pid }
                    Trace.recordExit(of: pid, status)
                    reply(.died(pid: pid, status: status))
                }
            }
        }
    }
    withUnsafeTemporaryAllocation(of: pollfd.self, capacity: 2) { entries in
        withUnsafeTemporaryAllocation(byteCount: ControlMessage.size, alignment: 8) { buffer in
            serve(entries, buffer)
        }
    }
}

// A contended Lock and a semaphore handoff between two processes.

import Multiprocessing

let syncWorkloads = [
    Workload(
        name: "lock_contended", title: "Lock contended, 2 processes", unit: .perSecond,
        operations: 1_000_000, quickOperations: 1_000, limit: Limit("lock_contended")
    ) { count in
        let counter = try RawSharedValue(0)
        let lock = try Lock()
        let workers = (0..<2).map { _ in
            ChildProcess {
                for _ in 0..<count / 2 {
                    lock.acquire()
                    counter.value += 1
                    try lock.release()
                }
            }
        }
        let elapsed = try seconds {
            for worker in workers { try worker.start() }
            for worker in workers { try worker.join() }
        }
        try expect(counter.value == count / 2 * 2, "the counter is \(counter.value), not \(count / 2 * 2)")
        return elapsed
    },
    Workload(
        name: "semaphore_handoff", title: "Semaphore handoff (empty/full)", unit: .perSecond,
        operations: 500_000, quickOperations: 1_000, limit: Limit("semaphore_handoff")
    ) { count in
        let slots = 16
        let buffer = try RawSharedArray(repeating: 0, count: slots)
        let empty = try CountingSemaphore(value: slots)
        let full = try CountingSemaphore(value: 0)
        let producer = ChildProcess {
            for value in 0..<count {
                empty.acquire()
                buffer[value % slots] = value
                try full.release()
            }
        }
        var inOrder = true
        let elapsed = try seconds {
            try producer.start()
            for expected in 0..<count {
                full.acquire()
                if buffer[expected % slots] != expected { inOrder = false }
                try empty.release()
            }
            try producer.join()
        }
        try expect(inOrder && producer.exitCode == 0, "items arrived out of order or the producer failed")
        return elapsed
    },
]

// ChildProcess start and join.

import Multiprocessing

let processWorkloads = [
    Workload(
        name: "process_start_join", title: "Process start+join", unit: .microseconds,
        operations: 300, quickOperations: 5,
        limit: Limit("process_start_join")
    ) { count in
        try seconds {
            for _ in 0..<count {
                let process = ChildProcess {}
                try process.start()
                try process.join()
                try expect(process.exitCode == 0, "a child exited with \(String(describing: process.exitCode))")
            }
        }
    }
]

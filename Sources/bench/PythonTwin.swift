// Runs the Python twin (twin.py beside this file) for one workload and reads its median.

import Glibc

struct PythonTwin {
    let script: String

    /// Nil when python3 is not on the PATH.
    init?() {
        guard system("command -v python3 >/dev/null 2>&1") == 0 else { return nil }
        let here = String(#filePath)
        script = String(here[..<here.lastIndex(of: "/")!]) + "/twin.py"
    }

    /// The twin's median figure for the workload, in the same unit as the Swift side.
    func measure(_ workload: String, operations: Int, repetitions: Int) -> Result<Double, BenchmarkFailure> {
        // A time limit: a Python pool or semaphore whose worker died waits for ever, and so would we.
        let command = "timeout 600 python3 '\(script)' \(workload) \(operations) \(repetitions) 2>&1"
        guard let pipe = popen(command, "r") else {
            return .failure(BenchmarkFailure(description: "cannot run python3"))
        }
        var output = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil {
            output += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let status = pclose(pipe)
        let lastLine = output.split(separator: "\n").last.map(String.init) ?? ""
        if status != 0, output.contains("Traceback") {
            let error = output.split(separator: "\n").last { $0.contains("Error") }.map(String.init) ?? lastLine
            return .failure(BenchmarkFailure(description: "twin failed: \(error)"))
        }
        guard status == 0, let value = Double(lastLine) else {
            return .failure(BenchmarkFailure(description: "twin failed: \(lastLine)"))
        }
        return .success(value)
    }
}

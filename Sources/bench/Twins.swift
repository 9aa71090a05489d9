// The twins: programs that run one workload the same way and print one number on their last line.
// twin.py (Python's multiprocessing) prints its median in the Swift side's unit; limit.c (the same
// work in C, nothing in the way: the machine's limit) prints its median in seconds per repetition.

import Glibc

/// Runs a command through the shell and returns its exit status and its output (stdout and stderr).
func runCommand(_ command: String) -> (status: Int32, output: String) {
    guard let pipe = popen(command + " 2>&1", "r") else { return (-1, "cannot run \(command)") }
    var output = ""
    var buffer = [CChar](repeating: 0, count: 4096)
    while fgets(&buffer, Int32(buffer.count), pipe) != nil {
        output += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    return (pclose(pipe), output)
}

/// The number on the output's last line, or why there is none.
private func lastNumber(of run: (status: Int32, output: String), twin: String) -> Result<Double, BenchmarkFailure> {
    let lines = run.output.split(separator: "\n")
    let lastLine = lines.last.map(String.init) ?? ""
    if run.status != 0, run.output.contains("Traceback") {
        let error = lines.last { $0.contains("Error") }.map(String.init) ?? lastLine
        return .failure(BenchmarkFailure(description: "\(twin) failed: \(error)"))
    }
    guard run.status == 0, let value = Double(lastLine) else {
        return .failure(BenchmarkFailure(description: "\(twin) failed: \(lastLine)"))
    }
    return .success(value)
}

/// The directory of this source file: twin.py and limit.c sit beside it.
private let benchSources: String = {
    let here = String(#filePath)
    return String(here[..<here.lastIndex(of: "/")!])
}()

struct PythonTwin {
    let script = benchSources + "/twin.py"

    /// Nil when python3 is not on the PATH.
    init?() {
        guard system("command -v python3 >/dev/null 2>&1") == 0 else { return nil }
    }

    /// The twin's median figure for the workload, in the same unit as the Swift side.
    func measure(_ workload: String, operations: Int, repetitions: Int) -> Result<Double, BenchmarkFailure> {
        // A time limit: a Python pool or semaphore whose worker died waits for ever, and so would we.
        lastNumber(
            of: runCommand("timeout 600 python3 '\(script)' \(workload) \(operations) \(repetitions)"), twin: "python")
    }
}

/// limit.c, compiled with the system C compiler (`cc -O2`) into .build/ beside the Swift products,
/// again only when the source is newer than the binary.
struct LimitTwin {
    let binary: String

    /// The twin ready to run, or why it is not: no C compiler, or the compiler refused the source.
    static func build() -> Result<LimitTwin, BenchmarkFailure> {
        let source = benchSources + "/limit.c"
        let root = String(benchSources[..<benchSources.lastIndex(of: "/")!])  // Sources/
        let buildDirectory = String(root[..<root.lastIndex(of: "/")!]) + "/.build"
        let binary = buildDirectory + "/bench-limit"
        guard let sourceTime = modificationTime(source) else {
            return .failure(BenchmarkFailure(description: "\(source) not found"))
        }
        if let binaryTime = modificationTime(binary), binaryTime >= sourceTime {
            return .success(LimitTwin(binary: binary))
        }
        guard system("command -v cc >/dev/null 2>&1") == 0 else {
            return .failure(BenchmarkFailure(description: "no C compiler (cc)"))
        }
        // Built under a temporary name and renamed: a bench and a test building at once never run
        // a half-written binary.
        let temporary = binary + ".\(getpid())"
        mkdir(buildDirectory, 0o755)
        let run = runCommand("cc -O2 -o '\(temporary)' '\(source)' -lpthread")
        guard run.status == 0, rename(temporary, binary) == 0 else {
            unlink(temporary)
            let firstLine = run.output.split(separator: "\n").first.map(String.init) ?? "status \(run.status)"
            return .failure(BenchmarkFailure(description: "cc failed: \(firstLine)"))
        }
        return .success(LimitTwin(binary: binary))
    }

    /// The twin's median seconds per repetition of `operations` operations of `workload`.
    func measure(_ limit: Limit, operations: Int, repetitions: Int) -> Result<Double, BenchmarkFailure> {
        let parameter = limit.parameter.map { " \($0)" } ?? ""
        return lastNumber(
            of: runCommand("timeout 600 '\(binary)' \(limit.name) \(operations) \(repetitions)\(parameter)"), twin: "C")
    }
}

/// Seconds since the epoch at the file's last change; nil when it does not exist.
private func modificationTime(_ path: String) -> Double? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
}

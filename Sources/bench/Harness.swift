// Measuring: warm-up, repetitions, medians, verification, and the side-by-side table.
// Each row's Swift side runs in a fresh process (this program again, `--row NAME`), as each twin's
// row does. In one long-lived process the rows after the 16 MiB ones paid for memory those left
// behind: malloc, once it has freed one big mmapped block, serves the next ones from its heap and
// keeps them there after `free`, and every fork copies the page tables of what the parent holds
// (a pool's start tripled). A user's program that has grown pays that too; the figures here are for
// a small one.

import Glibc
import Multiprocessing

/// What a figure means: a time per operation (lower is better) or a rate (higher is better).
enum Unit: String, Sendable {
    case microseconds = "µs"
    case milliseconds = "ms"
    case nanoseconds = "ns"
    case perSecond = "/s"
    /// Bytes per second, for workloads that move `bytesPerOperation` bytes per operation.
    case gigabytesPerSecond = "GB/s"

    var lowerIsBetter: Bool { self != .perSecond && self != .gigabytesPerSecond }

    /// The figure for `operations` done in `seconds`, in this unit.
    func figure(operations: Int, seconds: Double, bytesPerOperation: Int = 0) -> Double {
        switch self {
        case .microseconds: return seconds / Double(operations) * 1e6
        case .milliseconds: return seconds / Double(operations) * 1e3
        case .nanoseconds: return seconds / Double(operations) * 1e9
        case .perSecond: return Double(operations) / seconds
        case .gigabytesPerSecond: return Double(operations) * Double(bytesPerOperation) / seconds / 1e9
        }
    }
}

/// A benchmark failed its own check: the figure would be meaningless.
struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
}

/// The C twin's workload (limit.c) that does the same work with nothing in the way, and its
/// parameter (a message size in bytes, or a number of workers).
struct Limit: Sendable {
    let name: String
    let parameter: Int?

    init(_ name: String, _ parameter: Int? = nil) {
        self.name = name
        self.parameter = parameter
    }
}

/// One workload: the Swift side measured here, the Python side by the twin under the same name,
/// the machine's limit by the C twin's `limit` workload.
struct Workload: Sendable {
    /// Also the Python twin's workload name.
    let name: String
    let title: String
    let unit: Unit
    /// Operations per repetition, full size and quick (smoke test) size.
    let operations: Int
    let quickOperations: Int
    /// The bytes one operation moves (for `.gigabytesPerSecond`).
    let bytesPerOperation: Int
    /// Nil where no C program would say more (the codec, the pool's bookkeeping).
    let limit: Limit?
    /// A workload whose figures this one's are shown relative to (a speed-up), when it ran too.
    let baseline: String?
    /// Whether twin.py has the workload (the traced rows have no Python side: Python has no tracer).
    let hasTwin: Bool
    /// Runs `operations` operations once, verifies their result, and returns the elapsed seconds.
    let run: @Sendable (_ operations: Int) throws -> Double

    init(
        name: String, title: String, unit: Unit, operations: Int, quickOperations: Int, bytesPerOperation: Int = 0,
        limit: Limit? = nil, baseline: String? = nil, hasTwin: Bool = true,
        run: @escaping @Sendable (_ operations: Int) throws -> Double
    ) {
        self.name = name
        self.title = title
        self.unit = unit
        self.operations = operations
        self.quickOperations = quickOperations
        self.bytesPerOperation = bytesPerOperation
        self.limit = limit
        self.baseline = baseline
        self.hasTwin = hasTwin
        self.run = run
    }
}

/// Times `body` on the monotonic clock.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    let (whole, attoseconds) = elapsed.components
    return Double(whole) + Double(attoseconds) / 1e18
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw BenchmarkFailure(description: message()) }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

struct Options {
    var quick = false
    var repetitions = 5
    var python = true
    var limit = true
    var only: Set<String> = []
    /// Hidden (`--row NAME`): measure only this workload's Swift side, in this process, and print
    /// its median on the last line. The table runs every row this way, each in a fresh process.
    var row: String?

    init(arguments: [String]) throws {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--quick":
                quick = true
                repetitions = 1
            case "--no-python": python = false
            case "--no-c": limit = false
            case "--reps":
                guard let text = rest.popFirst(), let count = Int(text), count >= 1 else {
                    throw BenchmarkFailure(description: "--reps takes a positive whole number")
                }
                repetitions = count
            case "--row":
                guard let name = rest.popFirst() else { throw BenchmarkFailure(description: "--row takes a name") }
                row = name
            case "--help", "-h":
                throw BenchmarkFailure(
                    description: """
                        usage: bench [--quick] [--reps N] [--no-python] [--no-c] [workload ...]
                          Prints each workload's median of N repetitions (default 5) after a warm-up,
                          beside the same work in C (limit.c: the machine's limit, built with cc) and
                          in Python's multiprocessing (fork), all measured in this run.
                          --quick: tiny sizes, one repetition (a smoke test, not a measurement).
                          --no-python, --no-c: leave that column out ("-").
                          Each row's Swift side runs in a fresh process of its own (this program again),
                          so no row pays for the memory an earlier row left behind.
                        """)
            default: only.insert(argument)
            }
        }
    }
}

/// One workload's three medians, in its unit; nil where that side did not run or failed.
private struct Figures {
    var swift: Double
    var limit: Double?
    var python: Double?
}

/// The table's columns: the title, three figures, then three ratios.
private let columns = (title: 34, figure: 11, limitRatio: 14, pythonRatio: 15, versus: 14)

func runBenchmarks(arguments: [String]) {
    let options: Options
    do {
        options = try Options(arguments: arguments)
    } catch {
        print(error)
        exitProcess(2)
    }
    if let row = options.row { runRow(row, options) }
    // A selected speed-up row brings its baseline along.
    let selected = Set(allWorkloads.filter { options.only.contains($0.name) }.compactMap(\.baseline))
    let workloads = allWorkloads.filter {
        options.only.isEmpty || options.only.contains($0.name) || selected.contains($0.name)
    }
    let twin = options.python ? PythonTwin() : nil
    if options.python && twin == nil { print("python3 not found: no Python column") }
    var limitTwin: LimitTwin? = nil
    if options.limit {
        switch LimitTwin.build() {
        case .success(let built): limitTwin = built
        case .failure(let error): print("no limit column: \(error)")
        }
    }
    print(
        "median of \(options.repetitions) after a warm-up; \(cpuCount()) CPUs\(options.quick ? "; QUICK sizes, not a measurement" : "")"
    )
    print("Swift ÷ limit: Swift's time over the C twin's for the same work (for rates, the C rate over")
    print("Swift's): 1.00× is the machine's limit. Python ÷ limit likewise; vs Python: Swift against Python.")
    let header =
        pad("workload", columns.title) + pad("Swift", columns.figure, right: true)
        + pad("limit (C)", columns.figure, right: true) + pad("Python", columns.figure, right: true)
        + pad("Swift ÷ limit", columns.limitRatio, right: true)
        + pad("Python ÷ limit", columns.pythonRatio, right: true)
        + pad("vs Python", columns.versus, right: true)
    print(header)
    print(String(repeating: "-", count: header.count))
    var failures = 0
    var measured: [String: Figures] = [:]
    for workload in workloads {
        let operations = options.quick ? workload.quickOperations : workload.operations
        do {
            var figures = Figures(swift: try measureInFreshProcess(workload, options))
            var notes = ""
            if let limitTwin, let limit = workload.limit {
                switch limitTwin.measure(limit, operations: operations, repetitions: options.repetitions) {
                case .success(let seconds):
                    figures.limit = workload.unit.figure(
                        operations: operations, seconds: seconds, bytesPerOperation: workload.bytesPerOperation)
                case .failure(let error): notes += "  (\(error))"
                }
            }
            if let twin, workload.hasTwin {
                switch twin.measure(workload.name, operations: operations, repetitions: options.repetitions) {
                case .success(let value): figures.python = value
                case .failure(let error): notes += "  (\(error))"
                }
            }
            measured[workload.name] = figures
            print(row(workload, figures, baseline: workload.baseline.flatMap { measured[$0] }) + notes)
        } catch {
            failures += 1
            print(pad(workload.title, columns.title) + "  FAILED: \(error)")
        }
    }
    exitProcess(failures == 0 ? 0 : 1)
}

/// The workload's median figure, measured here: a warm-up, then `options.repetitions` runs.
func measure(_ workload: Workload, _ options: Options) throws -> Double {
    let operations = options.quick ? workload.quickOperations : workload.operations
    _ = try workload.run(operations)  // warm-up
    var values: [Double] = []
    for _ in 0..<options.repetitions {
        values.append(
            workload.unit.figure(
                operations: operations, seconds: try workload.run(operations),
                bytesPerOperation: workload.bytesPerOperation))
    }
    return median(values)
}

/// The environment variable that makes the named row fail in its own process (BenchTests use it to
/// check that a failed row is reported and the others still run).
let failRowVariable = "BENCH_FAIL_ROW"

/// `--row NAME`: measures one workload in this process, prints its median on the last line (or the
/// error, with status 1) and exits.
func runRow(_ name: String, _ options: Options) -> Never {
    do {
        guard let workload = allWorkloads.first(where: { $0.name == name }) else {
            throw BenchmarkFailure(description: "no workload named \(name)")
        }
        if let failing = getenv(failRowVariable), String(cString: failing) == name {
            throw BenchmarkFailure(description: "\(failRowVariable)=\(name) asked this row to fail")
        }
        print(try measure(workload, options))
        exitProcess(0)
    } catch {
        print(error)
        exitProcess(1)
    }
}

/// Measures the workload's Swift side in a fresh process (this program again, `--row NAME`), so that
/// its figure does not depend on the rows run before it: every fork copies the forking process's page
/// tables, and a process that has grown (big messages, many pages touched) pays more per fork and
/// per copy-on-write fault after it. A program of the reader's that has grown pays that too.
private func measureInFreshProcess(_ workload: Workload, _ options: Options) throws -> Double {
    let arguments =
        ["--row", workload.name, "--reps", String(options.repetitions)] + (options.quick ? ["--quick"] : [])
    let run = runCommand(([ownExecutable] + arguments).map { "'\($0)'" }.joined(separator: " "))
    let lines = run.output.split(separator: "\n")
    guard run.status == 0, let last = lines.last, let value = Double(last) else {
        throw BenchmarkFailure(description: lines.last.map(String.init) ?? "status \(run.status), no output")
    }
    return value
}

/// The path of this program, for re-running it: resolved here, as `/proc/self/exe` in the shell that
/// `runCommand` starts would name the shell.
private let ownExecutable: String = {
    var path = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &path, path.count - 1)
    guard length > 0 else { return CommandLine.arguments[0] }
    return String(decoding: path.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}()

/// A figure to show: the value, how to print it, and which way is better.
private struct Shown {
    let value: Double
    let text: String
    let lowerIsBetter: Bool
}

private func row(_ workload: Workload, _ figures: Figures, baseline: Figures?) -> String {
    // A speed-up row shows each side's rate over the same side's baseline rate.
    func shown(_ value: Double?, _ base: Double?) -> Shown? {
        guard let value else { return nil }
        if workload.baseline != nil {
            guard let base else { return nil }
            return Shown(value: value / base, text: format(value / base) + "×", lowerIsBetter: false)
        }
        return Shown(value: value, text: format(value, workload.unit), lowerIsBetter: workload.unit.lowerIsBetter)
    }
    let swift = shown(figures.swift, baseline?.swift)
    let limit = shown(figures.limit, baseline?.limit)
    let python = shown(figures.python, baseline?.python)
    /// How many times the cost of `reference`, `side` is (above 1: slower).
    func cost(_ side: Shown?, over reference: Shown?) -> Double? {
        guard let side, let reference, side.value > 0, reference.value > 0 else { return nil }
        return side.lowerIsBetter ? side.value / reference.value : reference.value / side.value
    }
    var line = pad(workload.title, columns.title)
    for figure in [swift, limit, python] { line += pad(figure?.text ?? "-", columns.figure, right: true) }
    line += pad(cost(swift, over: limit).map { format($0) + "×" } ?? "-", columns.limitRatio, right: true)
    line += pad(cost(python, over: limit).map { format($0) + "×" } ?? "-", columns.pythonRatio, right: true)
    let versus = cost(python, over: swift).map {
        $0 >= 1 ? "\(format($0))× faster" : "\(format(1 / $0))× slower"
    }
    line += pad(versus ?? "-", columns.versus, right: true)
    return line
}

func format(_ value: Double) -> String {
    value >= 100
        ? String(Int(value.rounded()))
        : value >= 10 ? String(Double(Int(value * 10)) / 10) : String(Double(Int(value * 100)) / 100)
}

func format(_ value: Double, _ unit: Unit) -> String {
    if unit == .perSecond {
        if value >= 1e6 { return format(value / 1e6) + "M/s" }
        if value >= 1e3 { return format(value / 1e3) + "k/s" }
        return format(value) + "/s"
    }
    return format(value) + " " + unit.rawValue
}

func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return right ? padding + text : text + padding
}

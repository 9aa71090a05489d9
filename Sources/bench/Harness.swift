// Measuring: warm-up, repetitions, medians, verification, and the side-by-side table.

import Glibc
import Multiprocessing

/// What a figure means: a time per operation (lower is better) or a rate (higher is better).
enum Unit: String, Sendable {
    case microseconds = "µs"
    case milliseconds = "ms"
    case nanoseconds = "ns"
    case perSecond = "/s"

    var lowerIsBetter: Bool { self != .perSecond }

    /// The figure for `operations` done in `seconds`, in this unit.
    func figure(operations: Int, seconds: Double) -> Double {
        switch self {
        case .microseconds: return seconds / Double(operations) * 1e6
        case .milliseconds: return seconds / Double(operations) * 1e3
        case .nanoseconds: return seconds / Double(operations) * 1e9
        case .perSecond: return Double(operations) / seconds
        }
    }
}

/// A benchmark failed its own check: the figure would be meaningless.
struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
}

/// One workload: the Swift side measured here, the Python side by the twin under the same name.
struct Workload: Sendable {
    /// Also the twin's workload name.
    let name: String
    let title: String
    let unit: Unit
    /// Operations per repetition, full size and quick (smoke test) size.
    let operations: Int
    let quickOperations: Int
    /// Whether twin.py has the workload (the traced rows have no Python side: Python has no tracer).
    var hasTwin = true
    /// Runs `operations` operations once, verifies their result, and returns the elapsed seconds.
    let run: @Sendable (_ operations: Int) throws -> Double
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
    var only: Set<String> = []

    init(arguments: [String]) throws {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--quick":
                quick = true
                repetitions = 1
            case "--no-python": python = false
            case "--reps":
                guard let text = rest.popFirst(), let count = Int(text), count >= 1 else {
                    throw BenchmarkFailure(description: "--reps takes a positive whole number")
                }
                repetitions = count
            case "--help", "-h":
                throw BenchmarkFailure(
                    description: """
                        usage: bench [--quick] [--reps N] [--no-python] [workload ...]
                          Prints each workload's median of N repetitions (default 5) after a warm-up,
                          beside Python's multiprocessing (fork) running the same workload.
                          --quick: tiny sizes, one repetition (a smoke test, not a measurement).
                        """)
            default: only.insert(argument)
            }
        }
    }
}

func runBenchmarks(arguments: [String]) {
    let options: Options
    do {
        options = try Options(arguments: arguments)
    } catch {
        print(error)
        exitProcess(2)
    }
    let workloads = allWorkloads.filter { options.only.isEmpty || options.only.contains($0.name) }
    let twin = options.python ? PythonTwin() : nil
    if options.python && twin == nil { print("python3 not found: measuring the Swift side only\n") }
    print(
        "median of \(options.repetitions) after a warm-up; \(cpuCount()) CPUs\(options.quick ? "; QUICK sizes, not a measurement" : "")"
    )
    let header = pad("workload", 34) + pad("Swift", 16, right: true) + pad("Python", 16, right: true) + "  ratio"
    print(header)
    print(String(repeating: "-", count: header.count + 14))
    var failures = 0
    for workload in workloads {
        let operations = options.quick ? workload.quickOperations : workload.operations
        do {
            _ = try workload.run(operations)  // warm-up
            var figures: [Double] = []
            for _ in 0..<options.repetitions {
                figures.append(workload.unit.figure(operations: operations, seconds: try workload.run(operations)))
            }
            let swift = median(figures)
            var python: Double? = nil
            var note = ""
            if let twin, workload.hasTwin {
                switch twin.measure(workload.name, operations: operations, repetitions: options.repetitions) {
                case .success(let value): python = value
                case .failure(let error): note = "  (python: \(error))"
                }
            }
            print(row(workload, swift: swift, python: python) + note)
        } catch {
            failures += 1
            print(pad(workload.title, 34) + "  FAILED: \(error)")
        }
    }
    exitProcess(failures == 0 ? 0 : 1)
}

private func row(_ workload: Workload, swift: Double, python: Double?) -> String {
    var line = pad(workload.title, 34) + pad(format(swift, workload.unit), 16, right: true)
    guard let python else { return line + pad("-", 16, right: true) }
    line += pad(format(python, workload.unit), 16, right: true)
    let ratio = workload.unit.lowerIsBetter ? python / swift : swift / python
    line += ratio >= 1 ? "  \(format(ratio))× faster" : "  \(format(1 / ratio))× slower"
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

import Glibc
import XCTest

/// Runs every benchmark once at tiny sizes (Swift side, and the C twin when a C compiler exists):
/// each verifies its own result (exact counts, order, stamps), so a broken workload fails here
/// rather than in `make bench`.
final class BenchSmokeTests: XCTestCase {
    /// The bench executable beside the test bundle.
    private func benchExecutable() -> String {
        var path = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        XCTAssertGreaterThan(length, 0)
        let executable = String(decoding: path.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let binDir = String(executable[..<executable.lastIndex(of: "/")!])
        // The test bundle sits beside the executables it depends on.
        let directory = binDir.hasSuffix(".xctest") ? String(binDir[..<binDir.lastIndex(of: "/")!]) : binDir
        let bench = directory + "/bench"
        XCTAssertEqual(access(bench, X_OK), 0, "no bench executable at \(bench)")
        return bench
    }

    /// Each row's Swift side runs in a fresh process (`bench --row NAME`), which prints its median
    /// on its last line; a row that fails there is reported in its row, and the next rows still run.
    func testEachRowRunsInAFreshProcessOfItsOwn() throws {
        let bench = benchExecutable()
        let single = run("'\(bench)' --row process_start_join --quick")
        XCTAssertEqual(single.status, 0, single.output)
        let last = single.output.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertNotNil(Double(last).flatMap { $0 > 0 ? $0 : nil }, single.output)

        let unknown = run("'\(bench)' --row no_such_row --quick")
        XCTAssertNotEqual(unknown.status, 0, unknown.output)
        XCTAssertTrue(unknown.output.contains("no workload named no_such_row"), unknown.output)

        // The failure is raised only by `--row` (in the row's own process); the table shows it and
        // goes on with the next row, and the bench ends with status 1.
        let table = run(
            "BENCH_FAIL_ROW=process_start_join '\(bench)' --quick --no-python --no-c "
                + "pipe_pingpong_duplex process_start_join")
        XCTAssertEqual(table.status >> 8, 1, table.output)
        let lines = table.output.split(separator: "\n")
        XCTAssertTrue(
            lines.contains {
                $0.hasPrefix("Process start+join")
                    && $0.contains("FAILED: BENCH_FAIL_ROW=process_start_join asked this row to fail")
            }, table.output)
        XCTAssertTrue(
            lines.contains { $0.hasPrefix("Pipe ping-pong, duplex") && $0.contains(" µs") && !$0.contains("FAILED") },
            table.output)
    }

    func testEveryWorkloadRunsAndVerifiesItsResult() throws {
        let bench = benchExecutable()
        let (status, output) = run("'\(bench)' --quick --no-python")
        XCTAssertEqual(status, 0, output)
        XCTAssertFalse(output.contains("FAILED"), output)
        let rows = output.split(separator: "\n").map { line in
            // Columns are right-aligned with at least two spaces between them.
            line.split(separator: "  ").map { String($0.drop { $0 == " " }) }
        }
        for title in ["Process start+join", "Pipe 16 MiB one-way, simplex", "Pool.map, 64 KiB items"] {
            XCTAssertTrue(rows.contains { $0.first == title }, "no row \(title) in\n\(output)")
        }
        // The scaling curve: one row per worker count, the last one for every CPU.
        let cpus = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let last = cpus == 1 ? "Pool.map CPU ×1 worker" : "Pool.map CPU ×\(cpus) workers"
        XCTAssertTrue(rows.contains { $0.first == last }, "no row \(last) in\n\(output)")

        // The C twin: built with cc and run for every row that has a limit; its figures must parse.
        guard run("command -v cc").status == 0 else {
            print("no C compiler (cc): the limit column is not checked")
            XCTAssertTrue(output.contains("no limit column"), output)
            return
        }
        XCTAssertFalse(output.contains("no limit column") || output.contains("C failed"), output)
        let limited = [
            ("Process start+join", " µs"), ("Pipe ping-pong, duplex", " µs"), ("Pipe 1 KiB one-way, simplex", "/s"),
            ("Queue 4 producers → 1 consumer", "/s"), ("Lock contended, 2 processes", "/s"),
            ("Semaphore handoff (empty/full)", "/s"), ("Pipe 64 KiB one-way, duplex", " GB/s"),
            ("Queue 1 MiB items, 1 → 1", " GB/s"), ("Pool.map CPU ×1 worker", "/s"),
        ]
        for (title, unit) in limited {
            guard let row = rows.first(where: { $0.first == title }), row.count >= 5 else {
                XCTFail("no row \(title) with a limit in\n\(output)")
                continue
            }
            // title, Swift, limit (C), Python ("-" here), Swift ÷ limit
            XCTAssertTrue(row[2].hasSuffix(unit) && number(row[2], unit) != nil, "limit of \(title): \(row)")
            XCTAssertTrue(number(row[4], "×").map { $0 > 0 } ?? false, "Swift ÷ limit of \(title): \(row)")
        }
    }

    /// The leading number of `text` once `unit` (and any k or M) is cut off its end.
    private func number(_ text: String, _ unit: String) -> Double? {
        guard text.hasSuffix(unit) else { return nil }
        var digits = String(text.dropLast(unit.count))
        var scale = 1.0
        if digits.hasSuffix("k") || digits.hasSuffix("M") {
            scale = digits.hasSuffix("k") ? 1e3 : 1e6
            digits.removeLast()
        }
        return Double(digits).map { $0 * scale }
    }

    private func run(_ command: String) -> (status: Int32, output: String) {
        guard let pipe = popen(command + " 2>&1", "r") else { return (-1, "cannot run \(command)") }
        var output = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil {
            output += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return (pclose(pipe), output)
    }
}

import BookKit
import Foundation
import XCTest

/// `swift run chapterN CELL --timeline` draws the traced cell, one row per process, in 80 columns;
/// `MP_TRACE=path` makes a chapter write a Trace Event Format file with every process in it.
final class TimelineTests: XCTestCase {
    private func runChapter(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        let binDir = try XCTUnwrap(BookPaths.executableDirectory(), "cannot locate the build directory")
        let chapter = Foundation.Process()
        chapter.executableURL = URL(fileURLWithPath: "\(binDir)/\(name)")
        chapter.arguments = arguments
        chapter.environment = ["MP_TIME_SCALE": "0.1", "MP_FORK_WARNING": "0"].merging(environment) { $1 }
        let output = Foundation.Pipe()
        let errors = Foundation.Pipe()
        chapter.standardOutput = output
        chapter.standardError = errors
        try chapter.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        chapter.waitUntilExit()
        return (chapter.terminationStatus, text, errorText)
    }

    func testTimelineDrawsARowPerProcessWithin80Columns() throws {
        let (status, stdout, stderr) = try runChapter("chapter4", ["clean", "--timeline"])
        XCTAssertEqual(status, 0, stderr)
        let lines = stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("── timeline of clean") }, stdout)
        // The cell's output comes first, whole.
        XCTAssertTrue(lines[..<start].contains("first: the quick brown fox jumps"), stdout)
        let rows = lines[start...].filter { $0.hasSuffix("|") }
        // The cell's process and its two writers, in the order they started (the writers' order is
        // free: the second one's child may run before the first one's).
        XCTAssertEqual(rows.count, 3, stdout)
        XCTAssertTrue(rows[0].hasPrefix("MainProcess "), stdout)
        XCTAssertEqual(Set(rows[1...].map { $0.split(separator: " ")[0] }), ["first", "second"], stdout)
        // A writer held the lock; the other one waited for it.
        XCTAssertTrue(rows[1].contains("#") && rows[2].contains("#"), stdout)
        XCTAssertTrue(rows[2].contains("~") || rows[1].contains("~"), stdout)
        XCTAssertTrue(lines[start...].contains { $0.contains("~ waiting") && $0.contains("# holding") }, stdout)
        for line in lines[start...] { XCTAssertLessThanOrEqual(line.count, 80, line) }
    }

    func testTimelineWorksForAPoolCell() throws {
        let (status, stdout, stderr) = try runChapter("chapter8", ["--list"])
        XCTAssertEqual(status, 0, stderr)
        let cell = try XCTUnwrap(stdout.split(separator: "\n").first.map { String($0.split(separator: " ")[0]) })
        let traced = try runChapter("chapter8", [cell, "--timeline"])
        XCTAssertEqual(traced.status, 0, traced.stderr)
        let rows = traced.stdout.split(separator: "\n").filter { $0.hasSuffix("|") }
        XCTAssertTrue(rows.contains { $0.hasPrefix("PoolWorker-") }, traced.stdout)
        XCTAssertTrue(rows.contains { $0.contains("=") }, traced.stdout)
        for line in traced.stdout.split(separator: "\n") where line.hasSuffix("|") {
            XCTAssertLessThanOrEqual(line.count, 80, String(line))
        }
    }

    func testMPTraceWritesAFileWithEveryProcess() throws {
        let path = NSTemporaryDirectory() + "chapter4-trace-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (status, _, stderr) = try runChapter("chapter4", ["clean"], environment: ["MP_TRACE": path])
        XCTAssertEqual(status, 0, stderr)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let events = try XCTUnwrap(object["traceEvents"] as? [[String: Any]])
        let names = Set(
            events.filter { ($0["ph"] as? String) == "M" }.compactMap {
                ($0["args"] as? [String: Any])?["name"] as? String
            })
        XCTAssertTrue(names.isSuperset(of: ["first", "second"]), "\(names)")
        XCTAssertTrue(events.contains { ($0["name"] as? String) == "hold Lock 1" })
    }
}

import BookKit
import Foundation
import XCTest

/// The timelines issue's proof, over the whole book: every chapter, run whole with `MP_TRACE`, writes
/// a valid Trace Event Format file with events from every process the run forked (the pid log the
/// book's checker uses says which), and `--timeline` draws every cell of every chapter in 80 columns
/// with a row per process. Each chapter runs once per check (not cell by cell), two at a time.
final class TraceEveryChapterTests: XCTestCase {
    private static let chapters = (1...9).map { "chapter\($0)" }

    /// Processes that nobody traced can see end: the ticker of `chapter3 daemon-killed-parent`, whose
    /// parent is killed with SIGKILL (the kernel ends the ticker; init reaps it).
    private static let unseenEnds: [String: [String]] = ["chapter3": ["ticker"]]

    private func binary(_ chapter: String) throws -> String {
        let binDir = try XCTUnwrap(BookPaths.executableDirectory(), "cannot locate the build directory")
        return "\(binDir)/\(chapter)"
    }

    /// Runs every chapter with `arguments` (and `environment(chapter)`), two at a time.
    private func runEveryChapter(
        _ arguments: [String], environment: @escaping @Sendable (String) -> [String] = { _ in [] }
    ) throws -> [String: RunResult] {
        let binaries = try Self.chapters.map { try binary($0) }
        let lock = NSLock()
        nonisolated(unsafe) var results: [String: Result<RunResult, BookError>] = [:]
        DispatchQueue.concurrentPerform(iterations: binaries.count) { index in
            let chapter = Self.chapters[index]
            let result = Result { () throws(BookError) -> RunResult in
                try Runner().run(binaries[index], arguments, timeout: 300, environment: environment(chapter))
            }
            lock.withLock { results[chapter] = result }
        }
        return try lock.withLock { try results.mapValues { try $0.get() } }
    }

    // MARK: - MP_TRACE: every process of every chapter

    func testEveryChapterTracedWholeHasEventsFromEveryProcessItForked() throws {
        let directory = NSTemporaryDirectory() + "trace-every-chapter-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let runs = try runEveryChapter([]) { ["MP_TRACE=\(directory)/\($0).json"] }
        for chapter in Self.chapters {
            let run = try XCTUnwrap(runs[chapter])
            XCTAssertTrue(run.succeeded, "\(chapter) \(run.termination): \(run.stderr)")
            XCTAssertGreaterThan(run.pids.count, 1, "\(chapter): the pid log is empty")
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(chapter).json"))
            let problems = TraceFileCheck.problems(
                data, forked: run.pids, unseenEnds: Self.unseenEnds[chapter] ?? [])
            XCTAssertEqual(problems, [], "\(chapter)")
        }
    }

    /// The check above fails when a process's records are missing, a name or a timestamp is, or the
    /// file is not JSON: a real trace, mutated.
    func testTheTraceCheckCatchesAMissingProcessAndMalformedEvents() throws {
        let path = NSTemporaryDirectory() + "trace-check-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try Runner().run(try binary("chapter2"), [], timeout: 300, environment: ["MP_TRACE=\(path)"])
        XCTAssertTrue(run.succeeded, run.stderr)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(TraceFileCheck.problems(data, forked: run.pids), [])

        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let events = try XCTUnwrap(object["traceEvents"] as? [[String: Any]])
        let victim = try XCTUnwrap(run.pids.last)
        func mutated(_ change: ([[String: Any]]) -> [[String: Any]]) throws -> Data {
            object["traceEvents"] = change(events)
            return try JSONSerialization.data(withJSONObject: object)
        }
        // A process's records dropped: the pid log still has it.
        let dropped = try mutated { $0.filter { ($0["pid"] as? Int) != Int(victim) } }
        XCTAssertTrue(
            TraceFileCheck.problems(dropped, forked: run.pids).contains { $0.contains("no events from pid \(victim)") })
        // Only its exit record kept: the parent's record names it, but the process has no name.
        let unnamed = try mutated { $0.filter { ($0["pid"] as? Int) != Int(victim) || ($0["ph"] as? String) != "M" } }
        XCTAssertTrue(
            TraceFileCheck.problems(unnamed, forked: run.pids).contains {
                $0.contains("no process_name for pid \(victim)")
            })
        // An event without its timestamp.
        let untimed = try mutated { events in
            var events = events
            let index = events.firstIndex { ($0["ph"] as? String) == "X" }!
            events[index]["ts"] = nil
            return events
        }
        XCTAssertTrue(TraceFileCheck.problems(untimed, forked: run.pids).contains { $0.contains("without ts") })
        // A process that ended with nobody saying how.
        let endless = try mutated { events in
            events.map { event in
                var event = event
                if (event["pid"] as? Int) == Int(victim) && (event["cat"] as? String) == "process" {
                    event["args"] = nil
                }
                return event
            }
        }
        XCTAssertTrue(TraceFileCheck.problems(endless, forked: run.pids).contains { $0.contains("no ending") })
        XCTAssertEqual(TraceFileCheck.problems(Data("{\"traceEvents\": [".utf8), forked: run.pids).count, 1)
    }

    // MARK: - --timeline: every cell of every chapter

    func testTimelineDrawsEveryCellOfEveryChapterARowPerProcessIn80Columns() throws {
        let lists = try runEveryChapter(["--list"])
        let runs = try runEveryChapter(["--timeline"])
        for chapter in Self.chapters {
            let list = try XCTUnwrap(lists[chapter])
            XCTAssertTrue(list.succeeded, "\(chapter) --list: \(list.stderr)")
            let cells = list.stdout.split(separator: "\n").compactMap {
                $0.split(separator: " ").first.map(String.init)
            }
            XCTAssertFalse(cells.isEmpty, chapter)
            let run = try XCTUnwrap(runs[chapter])
            XCTAssertTrue(run.succeeded, "\(chapter) --timeline \(run.termination): \(run.stderr)")
            // The runner (the binary itself, the process group's leader) only forks the cells: no row.
            let expected = Set(run.pids).subtracting([run.processGroup])
            let problems = TimelineCheck.problems(run.stdout, cells: cells, processes: expected)
            XCTAssertEqual(problems, [], "\(chapter):\n\(run.stdout)")
        }
    }

    /// The check above fails on a missing timeline, a missing row, a line too wide.
    func testTheTimelineCheckCatchesAMissingCellRowOrWideLine() throws {
        let list = try Runner().run(try binary("chapter1"), ["--list"], timeout: 300)
        let cells = list.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        let run = try Runner().run(try binary("chapter1"), ["--timeline"], timeout: 300)
        XCTAssertTrue(run.succeeded, run.stderr)
        let processes = Set(run.pids).subtracting([run.processGroup])
        XCTAssertEqual(TimelineCheck.problems(run.stdout, cells: cells, processes: processes), [])
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)

        let row = try XCTUnwrap(lines.lastIndex { $0.hasSuffix("|") && !$0.hasPrefix(" ") })
        var withoutRow = lines
        withoutRow.remove(at: row)
        XCTAssertFalse(
            TimelineCheck.problems(withoutRow.joined(separator: "\n"), cells: cells, processes: processes).isEmpty)

        var wide = lines
        wide[row] = String(repeating: " ", count: 10) + wide[row]
        XCTAssertTrue(
            TimelineCheck.problems(wide.joined(separator: "\n"), cells: cells, processes: processes)
                .contains { $0.contains("wider than 80") })

        let header = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("── timeline of ") })
        var withoutCell = lines
        withoutCell.remove(at: header)
        XCTAssertTrue(
            TimelineCheck.problems(withoutCell.joined(separator: "\n"), cells: cells, processes: processes)
                .contains { $0.contains("no timeline for") })
    }
}

/// What a trace file must be: JSON with `traceEvents`, each with `ph` and `pid`, `ts` on every
/// event but metadata, a `process_name` for every process, events from every forked process, and
/// for every forked process but the first (the run's own) how it ended (its parent's record).
enum TraceFileCheck {
    static func problems(_ data: Data, forked: [Int32], unseenEnds: [String] = []) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let events = object["traceEvents"] as? [[String: Any]]
        else { return ["not a JSON object with a traceEvents array"] }
        var problems: [String] = []
        var withEvents = Set<Int>()
        var names: [Int: String] = [:]
        var ended = Set<Int>()
        for event in events {
            guard let phase = event["ph"] as? String, let pid = event["pid"] as? Int else {
                problems.append("an event without ph or pid: \(event)")
                continue
            }
            if phase == "M" {
                if event["name"] as? String == "process_name", let name = (event["args"] as? [String: Any])?["name"] {
                    names[pid] = name as? String
                }
                continue
            }
            guard let time = event["ts"] as? Double, time >= 0 else {
                problems.append("an event without ts: \(event)")
                continue
            }
            if phase == "X" && ((event["dur"] as? Double) ?? -1) < 0 { problems.append("a span without dur: \(event)") }
            withEvents.insert(pid)
            if event["cat"] as? String == "process", (event["args"] as? [String: Any])?["end"] is String {
                ended.insert(pid)
            }
        }
        for pid in forked.map(Int.init) {
            if !withEvents.contains(pid) { problems.append("no events from pid \(pid)") }
            if names[pid] == nil { problems.append("no process_name for pid \(pid)") }
        }
        var unseen = unseenEnds
        for pid in forked.dropFirst().map(Int.init) where withEvents.contains(pid) && !ended.contains(pid) {
            if let index = unseen.firstIndex(of: names[pid] ?? "") {
                unseen.remove(at: index)
            } else {
                problems.append("no ending for pid \(pid) (\(names[pid] ?? "unnamed"))")
            }
        }
        let strangers = withEvents.subtracting(forked.map(Int.init))
        if !strangers.isEmpty { problems.append("events from pids the run did not fork: \(strangers.sorted())") }
        return problems
    }
}

/// What `--timeline` output must be: a timeline per cell, in order, each line at most 80 columns,
/// a row per process, and together a row for every process the cells forked.
enum TimelineCheck {
    static func problems(_ output: String, cells: [String], processes: Set<Int32>) -> [String] {
        var problems: [String] = []
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var headers: [(cell: String, line: Int)] = []
        for (index, line) in lines.enumerated() where line.hasPrefix("── timeline of ") {
            let cell = line.dropFirst("── timeline of ".count).split(separator: " ").first.map(String.init) ?? ""
            headers.append((cell, index))
        }
        let drawn = headers.map(\.cell)
        for cell in cells where !drawn.contains(cell) { problems.append("no timeline for \(cell)") }
        if drawn.filter(cells.contains) != cells.filter(drawn.contains) { problems.append("timelines out of order") }
        var seen = Set<Int32>()
        for (number, header) in headers.enumerated() {
            let end = number + 1 < headers.count ? headers[number + 1].line : lines.count
            guard let legend = lines[header.line..<end].firstIndex(where: { $0.hasPrefix("- running") }) else {
                problems.append("\(header.cell): no legend")
                continue
            }
            var rows = 0
            for line in lines[header.line...legend] {
                if line.count > 80 { problems.append("\(header.cell): a line wider than 80 columns: \(line)") }
                guard line.hasSuffix("|"), let bar = line.range(of: " |") else { continue }
                rows += 1
                guard let pid = line[..<bar.lowerBound].split(separator: " ").last.flatMap({ Int32($0) }) else {
                    problems.append("\(header.cell): a row without a pid: \(line)")
                    continue
                }
                if !seen.insert(pid).inserted { problems.append("\(header.cell): pid \(pid) has two rows") }
            }
            if rows == 0 { problems.append("\(header.cell): no rows") }
        }
        for pid in processes.subtracting(seen).sorted() { problems.append("no row for pid \(pid)") }
        for pid in seen.subtracting(processes).sorted() {
            problems.append("a row for pid \(pid), not forked by the run")
        }
        return problems
    }
}

import Glibc
import XCTest

@testable import BookKit

/// The runner of the book checker: hermetic runs, time limits, whole process groups killed, no leaks.
final class RunnerTests: XCTestCase {
    // MARK: - Runner

    func testTimeoutKillsTheWholeProcessGroup() throws {
        let book = try FakeBook()
        defer { book.remove() }
        let result = try Runner().run(book.binary, ["forever"], timeout: 2)
        XCTAssertEqual(result.termination, .timedOut(seconds: 2))
        XCTAssertEqual(result.termination.description, "timed out after 2 s")
        XCTAssertEqual(result.stdout, "sleeping\n", "partial output is kept")
        XCTAssertFalse(result.outputHeldOpen)
        XCTAssertTrue(waitUntilGone(group: result.processGroup), "the cell's process group must be gone")
        for pid in result.pids { XCTAssertTrue(waitUntilGone(pid: pid), "pid \(pid) survived") }

        // The same through a marker with timeout=1: reported with the partial output, not blessed.
        try book.writeBlessedPage()
        var text = try book.pageText()
        text += "\n<!-- output: chapter9/forever timeout=1 -->\n```text\nsleeping\n```\n"
        try book.writePage(text)
        try book.listMoreCells(["forever"])
        let report = book.checker.update(chapters: nil)
        XCTAssertEqual(report.failures.count, 1, report.rendered)
        XCTAssertTrue(report.failures[0].message.contains("timed out after 1 s"), report.rendered)
        XCTAssertEqual(try book.pageText(), text)
    }

    func testOrphanLeftInTheGroupIsKilled() throws {
        let book = try FakeBook()
        defer { book.remove() }
        let result = try Runner().run(book.binary, ["orphan"], timeout: 30)
        XCTAssertEqual(result.termination, .exited(0))
        XCTAssertTrue(result.succeeded)
        XCTAssertEqual(result.stdout, "left a child behind\n")
        XCTAssertEqual(result.pids.count, 2, "the script logs itself and its background child")
        for pid in result.pids { XCTAssertTrue(waitUntilGone(pid: pid), "pid \(pid) survived the run") }
        XCTAssertTrue(waitUntilGone(group: result.processGroup))
    }

    func testEscapedProcessHoldingTheOutputFailsTheRun() throws {
        guard FileSystem.isExecutableFile("/usr/bin/setsid") else { throw XCTSkip("no setsid") }
        let book = try FakeBook()
        defer { book.remove() }
        var runner = Runner()
        runner.drainTimeout = 0.5
        let result = try runner.run(book.binary, ["escape"], timeout: 30)
        defer {
            // The escaped sleeper is ours (it logged its pid): end it by its id.
            for pid in result.pids where pid != result.processGroup { kill(pid, SIGKILL) }
        }
        XCTAssertTrue(result.outputHeldOpen)
        XCTAssertFalse(result.succeeded)
    }

    func testHermeticEnvironmentAndNoDescriptorLeaks() throws {
        let book = try FakeBook()
        defer { book.remove() }
        let before = try openDescriptors()
        let env = try Runner().run(book.binary, ["env"], timeout: 30)
        XCTAssertTrue(env.succeeded, env.stderr)
        let names = Set(
            outputLines(env.stdout).filter { $0.contains("=") }.map { String($0.prefix(while: { $0 != "=" })) })
        XCTAssertTrue(
            names.isSubset(of: ["PATH", "HOME", "LC_ALL", "MP_NOTEBOOK_BARE", "MP_TIME_SCALE", "MP_PID_LOG", "PWD"]),
            "\(names)")
        XCTAssertTrue(env.stdout.contains("LC_ALL=C\n"))
        XCTAssertTrue(env.stdout.contains("MP_NOTEBOOK_BARE=1\n"))
        XCTAssertTrue(env.stdout.contains("MP_TIME_SCALE=0.05\n"))
        XCTAssertTrue(env.stdout.contains("stdin is empty\n"))
        let logLine = try XCTUnwrap(outputLines(env.stdout).first { $0.hasPrefix("MP_PID_LOG=") })
        XCTAssertFalse(FileSystem.exists(String(logLine.dropFirst("MP_PID_LOG=".count))), "the pid log is deleted")

        _ = try Runner().run(book.binary, ["merged"], timeout: 30, mergeStderr: true)
        _ = try Runner().run(book.binary, ["noisy"], timeout: 30)
        _ = try Runner().run(book.binary, ["forever"], timeout: 0.5)
        XCTAssertThrowsError(try Runner().run(book.root + "/missing", [], timeout: 5))
        XCTAssertEqual(try openDescriptors(), before, "every descriptor opened by a run is closed")
    }

    func testPaths() throws {
        let root = try XCTUnwrap(BookPaths.packageRoot(from: #filePath))
        XCTAssertTrue(FileSystem.exists(root + "/Package.swift"))
        XCTAssertTrue(FileSystem.exists(root + "/Tests/BookTests"))
        let bin = try XCTUnwrap(BookPaths.executableDirectory())
        XCTAssertTrue(FileSystem.isDirectory(bin))
        XCTAssertEqual(BookPaths.absolute("/a/b"), "/a/b")
        XCTAssertEqual(normalizeChapterName("3"), "chapter3")
        XCTAssertEqual(normalizeChapterName("chapter12"), "chapter12")
        XCTAssertNil(normalizeChapterName("ch3"))
        XCTAssertEqual(pageChapter("03-daemon-join.md"), "chapter3")
        XCTAssertNil(pageChapter("README.md"))
    }

    func testMergedStderrKeepsTheRealInterleaving() throws {
        let book = try FakeBook()
        defer { book.remove() }
        let merged = try Runner().run(book.binary, ["merged"], timeout: 30, mergeStderr: true)
        XCTAssertEqual(merged.stdout, "one\ntwo\nthree\n")
        XCTAssertEqual(merged.stderr, "")
        let separate = try Runner().run(book.binary, ["merged"], timeout: 30)
        XCTAssertEqual(separate.stdout, "one\nthree\n")
        XCTAssertEqual(separate.stderr, "two\n")
    }
}

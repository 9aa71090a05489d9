import BookKit
import Glibc
import XCTest

/// One test per chapter: every code block equals its source region and every output block matches
/// a fresh run of its cell. On failure the message is the checker's report: a diff and the command
/// that blesses the block.
final class BookChapterTests: XCTestCase {
    private func checker(bookDir: String? = nil) throws -> BookChecker {
        let root = try XCTUnwrap(BookPaths.packageRoot(from: #filePath), "no Package.swift above \(#filePath)")
        let binDir = try XCTUnwrap(BookPaths.executableDirectory(), "cannot locate the build directory")
        return BookChecker(root: root, binDir: binDir, bookDir: bookDir)
    }

    private func checkChapter(_ chapter: String) throws {
        let report = try checker().check(chapters: [chapter])
        print(report.summary)
        XCTAssertTrue(report.isSuccess, "\n" + report.rendered)
        XCTAssertEqual(report.outputBlocks[.manual] ?? 0, 0, "the book has no manual blocks")
        XCTAssertGreaterThan(report.outputBlockCount, 0)
    }

    func testChapter1() throws { try checkChapter("chapter1") }
    func testChapter2() throws { try checkChapter("chapter2") }
    func testChapter3() throws { try checkChapter("chapter3") }
    func testChapter4() throws { try checkChapter("chapter4") }
    func testChapter5() throws { try checkChapter("chapter5") }
    func testChapter6() throws { try checkChapter("chapter6") }
    func testChapter7() throws { try checkChapter("chapter7") }
    func testChapter8() throws { try checkChapter("chapter8") }
    func testChapter9() throws { try checkChapter("chapter9") }

    /// The check must be able to fail: one changed output line and one changed code line in a copy of
    /// the real book each fail, with a readable diff and the bless command.
    func testAChangedLineInTheBookFailsTheCheck() throws {
        let root = try XCTUnwrap(BookPaths.packageRoot(from: #filePath))
        let page = try String(contentsOfFile: "\(root)/book/03-daemon-join.md", encoding: .utf8)
        let changed =
            page
            .replacingOccurrences(of: "main: waiting for the worker", with: "main: waiting for the workers")
            .replacingOccurrences(
                of: "    print(\"main: waiting for the worker\")", with: "    print(\"main: waiting\")")
        XCTAssertNotEqual(changed, page)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("book-selftest-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try changed.write(to: directory.appendingPathComponent("03-daemon-join.md"), atomically: true, encoding: .utf8)
        // The page's figures come along: only the two changed lines may fail.
        try FileManager.default.copyItem(
            atPath: "\(root)/book/figures", toPath: directory.appendingPathComponent("figures").path)

        let report = try checker(bookDir: directory.path).check(chapters: ["chapter3"])
        XCTAssertFalse(report.isSuccess)
        XCTAssertEqual(report.failures.count, 2, report.rendered)
        XCTAssertTrue(report.rendered.contains("-main: waiting for the workers"), report.rendered)
        XCTAssertTrue(report.rendered.contains("+main: waiting for the worker"), report.rendered)
        XCTAssertTrue(report.rendered.contains("swift run book update chapter3"), report.rendered)
    }
}

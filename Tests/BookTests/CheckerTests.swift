import Glibc
import XCTest

@testable import BookKit

/// `book check` and `book update` against a fake shell-script chapter: what passes, what fails, and
/// that blessing rewrites only what changed.
final class CheckerTests: XCTestCase {
    // MARK: - Check and update against a fake chapter

    func testCheckPassesAndUpdateLeavesAMatchingPageByteIdentical() throws {
        let book = try FakeBook()
        defer { book.remove() }
        try book.writeBlessedPage()
        let before = try book.pageText()

        let report = book.checker.check(chapters: nil)
        XCTAssertTrue(report.isSuccess, report.rendered)
        XCTAssertEqual(report.outputBlocks[.exact], 2)
        XCTAssertEqual(report.outputBlocks[.unordered], 1)
        XCTAssertEqual(report.outputBlocks[.manual], 1)
        XCTAssertEqual(report.codeBlocks, 2)
        XCTAssertEqual(
            report.summary,
            "book check: 4 output blocks checked (exact 2, unordered 1, interleaved 0, manual 1), 2 code blocks; 0 failures"
        )

        let update = book.checker.update(chapters: ["chapter9"])
        XCTAssertTrue(update.isSuccess, update.rendered)
        XCTAssertEqual(update.rewrites, [])
        XCTAssertEqual(try book.pageText(), before, "a matching page must stay byte-for-byte unchanged")
    }

    func testChangedExpectedLineFailsAndUpdateRewritesOnlyThatBlock() throws {
        let book = try FakeBook()
        defer { book.remove() }
        try book.writeBlessedPage()
        let blessed = try book.pageText()
        // Self-test: change one expected line; the check must fail and say how to bless.
        let broken = blessed.replacingFirst("hello, world", with: "hello, moon")
        XCTAssertNotEqual(broken, blessed)
        try book.writePage(broken)

        let report = book.checker.check(chapters: ["9"])
        XCTAssertFalse(report.isSuccess)
        XCTAssertEqual(report.failures.count, 1, report.rendered)
        let failure = try XCTUnwrap(report.failures.first)
        XCTAssertEqual(failure.cell, "chapter9/hello")
        XCTAssertTrue(failure.location.hasPrefix("book/09-fake.md:"), failure.location)
        XCTAssertTrue(failure.rendered.contains("-hello, moon\n+hello, world"), failure.rendered)
        XCTAssertTrue(failure.rendered.contains("swift build && swift run book update chapter9"), failure.rendered)
        XCTAssertTrue(report.summary.hasSuffix("; 1 failure"), report.summary)
        XCTAssertEqual(try book.pageText(), broken, "check never writes")

        let update = book.checker.update(chapters: nil)
        XCTAssertTrue(update.isSuccess, update.rendered)
        XCTAssertEqual(update.rewrites.count, 1, update.rendered)
        XCTAssertEqual(try book.pageText(), blessed, "only the block changes back; prose and other blocks untouched")
        XCTAssertTrue(book.checker.check(chapters: nil).isSuccess)
    }

    func testUpdateWritesPidsAndInsertsMissingBlocks() throws {
        let book = try FakeBook()
        defer { book.remove() }
        try book.writePage(book.page(pidBlock: nil, helloBlock: "```text\nstale\n```", codeBlock: nil))
        let update = book.checker.update(chapters: nil)
        XCTAssertTrue(update.isSuccess, update.rendered)
        XCTAssertEqual(update.rewrites.count, 3, update.rendered)
        let text = try book.pageText()
        let page = Page(text: text, path: "p")
        XCTAssertEqual(page.problems, [])
        let pidMarker = try XCTUnwrap(page.markers.first { $0.cell.name == "pids" })
        let pids = try XCTUnwrap(pidMarker.output?.pids)
        let content = try XCTUnwrap(pidMarker.block?.content)
        XCTAssertEqual(content.count, 3)
        let parent = try XCTUnwrap(Int32(content[0].dropFirst("parent ".count)))
        let child = try XCTUnwrap(Int32(content[1].dropFirst("child ".count).prefix(while: { $0 != " " })))
        XCTAssertEqual(content, ["parent \(parent)", "child \(child) of \(parent)", "parent \(parent) again"])
        XCTAssertEqual(pids, [parent, child].sorted(), "pids= lists the run's pids that occur, ascending")
        XCTAssertTrue(text.contains("<!-- output: chapter9/pids mode=exact pids=\(pids[0]),\(pids[1]) -->"), text)
        XCTAssertEqual(
            page.markers.first { $0.cell.name == "greet" }?.block?.content, ["greet(\"world\")", "  // indented"])
        XCTAssertTrue(text.hasPrefix("# Fake chapter\n\nSome prose that must survive.\n"))

        // A fresh run has other pids, yet matches; and a second update changes nothing.
        let check = book.checker.check(chapters: nil)
        XCTAssertTrue(check.isSuccess, check.rendered)
        let again = book.checker.update(chapters: nil)
        XCTAssertEqual(again.rewrites, [], again.rendered)
        XCTAssertEqual(try book.pageText(), text)
    }

    func testStructuralFailuresAreAllReported() throws {
        let book = try FakeBook()
        defer { book.remove() }
        try book.writeBlessedPage()
        var text = try book.pageText()
        // Drop the lines block, name a cell that does not exist, show a region that does not
        // exist, and change a code line.
        text = text.replacingFirst(
            "<!-- output: chapter9/lines mode=unordered -->", with: "<!-- output: chapter9/ghost -->")
        text = text.replacingFirst("greet(\"world\")", with: "greet(\"moon\")")
        text += "\n<!-- code: chapter9/nowhere -->\n```swift\n```\n"
        text += "\n<!-- output: chapter9/hello -->\n```text\nhello, world\n```\n"
        text += "\n<!-- output: chapter9/hello mode=fuzzy -->\n"
        try book.writePage(text)
        try book.writeSource(book.source + "// cell: unshown\nlet hidden = 1\n// end cell\n")

        let report = book.checker.check(chapters: nil)
        let messages = report.failures.map(\.message)
        XCTAssertEqual(report.failures.count, 7, report.rendered)
        XCTAssertTrue(messages.contains { $0.hasPrefix("cell hello has 2 output blocks") }, report.rendered)
        XCTAssertTrue(messages.contains { $0.hasPrefix("unknown mode 'fuzzy'") }, report.rendered)
        XCTAssertTrue(messages.contains("cell lines has no output block"), report.rendered)
        XCTAssertTrue(
            messages.contains { $0.hasPrefix("block names cell ghost which chapter9 does not have") }, report.rendered)
        XCTAssertTrue(messages.contains { $0.hasPrefix("no region 'nowhere'") }, report.rendered)
        XCTAssertTrue(messages.contains("region unshown is not shown in the book"), report.rendered)
        XCTAssertTrue(messages.contains { $0.hasPrefix("code block differs from region 'greet'") }, report.rendered)
        XCTAssertTrue(report.rendered.contains("-greet(\"moon\")\n+greet(\"world\")"), report.rendered)

        // Update fixes the code block but not the rest.
        let update = book.checker.update(chapters: nil)
        XCTAssertEqual(update.failures.count, 6, update.rendered)
        XCTAssertEqual(update.rewrites.count, 1, update.rendered)
        XCTAssertTrue(try book.pageText().contains("greet(\"world\")"))
    }

    func testMissingBinaryFails() throws {
        let book = try FakeBook()
        defer { book.remove() }
        try book.writeBlessedPage()
        let checker = BookChecker(root: book.root, binDir: book.root + "/no-such-bin")
        let report = checker.check(chapters: nil)
        XCTAssertFalse(report.isSuccess)
        XCTAssertEqual(report.outputBlockCount, 0)
        XCTAssertTrue(report.failures.contains { $0.message.contains("run `swift build`") }, report.rendered)
        // A chapter with sources but no page fails too.
        try book.mkdir("Chapters/chapter8")
        XCTAssertTrue(
            book.checker.check(chapters: nil).failures.contains { $0.message.hasPrefix("chapter8 has no page") })
    }

    func testFailedRunsAndStderrAreReportedAndNeverBlessed() throws {
        let book = try FakeBook()
        defer { book.remove() }
        try book.writeBlessedPage()
        var text = try book.pageText()
        text += """

            <!-- output: chapter9/fails -->
            ```text
            before failing
            ```

            <!-- output: chapter9/noisy -->
            ```text
            out
            ```

            <!-- output: chapter9/merged stderr=merged -->
            ```text
            one
            two
            three
            ```

            """
        try book.writePage(text)
        try book.listMoreCells(["fails", "noisy", "merged"])
        let report = book.checker.update(chapters: nil)
        XCTAssertEqual(report.failures.count, 2, report.rendered)
        XCTAssertTrue(
            report.failures.contains { $0.cell == "chapter9/fails" && $0.message.contains("exited with status 3") },
            report.rendered)
        let noisy = try XCTUnwrap(report.failures.first { $0.cell == "chapter9/noisy" }, report.rendered)
        XCTAssertTrue(noisy.message.contains("wrote to stderr"))
        XCTAssertTrue(noisy.rendered.contains("stderr:\n  oops"), noisy.rendered)
        XCTAssertEqual(report.rewrites, [])
        XCTAssertEqual(try book.pageText(), text, "failed runs are not blessed")
    }

}

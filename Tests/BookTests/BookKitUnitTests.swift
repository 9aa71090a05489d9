import Glibc
import XCTest

@testable import BookKit

/// Unit tests of the book checker that need no chapter binaries: parsing, regions,
/// normalization, modes, diffs, and check/update against a fake shell-script chapter.
final class BookKitUnitTests: XCTestCase {

    // MARK: - Page parsing

    func testPageParsingMarkersFencesAndAttributes() {
        let text = """
            # Title
            Prose with an inline <!-- comment --> and a plain comment below.
            <!-- just a note -->

            <!-- code: chapter3/daemon -->
            ```swift
            let x = 1
              print(x)  
            ```

            <!-- output: chapter3/daemon mode=unordered stderr=merged timeout=2.5 tolerance=20% pids=12,345 -->
            ```text
            b
            a
            ```
            <!-- output: chapter3/tty mode=manual reason="needs a \\"real\\" terminal" -->
            ````text
            ```
            inside
            ```
            ````
            ~~~markdown
            <!-- output: chapter3/not-a-marker -->
            ```text
            ~~~
            """
        let page = Page(text: text, path: "book/03-x.md")
        XCTAssertEqual(page.problems, [])
        XCTAssertEqual(page.text, text, "parsing must round-trip")
        XCTAssertEqual(page.markers.count, 3)

        let code = page.markers[0]
        XCTAssertNil(code.output)
        XCTAssertEqual(code.cell, CellRef(chapter: "chapter3", name: "daemon"))
        XCTAssertEqual(code.line, 4)
        XCTAssertEqual(code.block?.info, "swift")
        XCTAssertEqual(code.block?.content, ["let x = 1", "  print(x)  "])

        let output = page.markers[1]
        XCTAssertEqual(output.line, 10)
        XCTAssertEqual(output.output?.mode, .unordered)
        XCTAssertEqual(output.output?.mergeStderr, true)
        XCTAssertEqual(output.output?.timeout, 2.5)
        XCTAssertEqual(output.output?.tolerance, 20)
        XCTAssertEqual(output.output?.pids, [12, 345])
        XCTAssertEqual(output.block?.content, ["b", "a"])
        XCTAssertEqual(output.block?.openLine, 11)
        XCTAssertEqual(output.block?.closeLine, 14)

        let manual = page.markers[2]
        XCTAssertEqual(manual.output?.mode, .manual)
        XCTAssertEqual(manual.output?.reason, "needs a \"real\" terminal")
        XCTAssertEqual(manual.block?.fenceLength, 4)
        XCTAssertEqual(manual.block?.content, ["```", "inside", "```"])
    }

    func testMarkerDefaultsAndMissingBlock() {
        let page = Page(
            text: "<!-- output: chapter1/hello -->\n\n```text\nhi\n```\n<!-- code: chapter1/x -->", path: "p.md")
        XCTAssertEqual(page.problems, [])
        XCTAssertEqual(page.markers.count, 2)
        XCTAssertEqual(page.markers[0].output, OutputAttributes())
        XCTAssertEqual(page.markers[0].output?.timeout, 60)
        XCTAssertNil(page.markers[0].block, "a blank line between marker and fence means no block")
        XCTAssertNil(page.markers[1].block)
        XCTAssertFalse(page.endsWithNewline)
    }

    func testMarkerSyntaxErrorsAreReportedWithLines() {
        let lines = [
            "<!-- output: chapter1/a mode=fuzzy -->",
            "<!-- output: chapter1/b mode=manual -->",
            "<!-- output: chapter1/c colour=red -->",
            "<!-- output: nochapter -->",
            "<!-- output: chapter1/d reason=\"open -->",
            "<!-- code: chapter1/e mode=exact -->",
            "<!-- output: chapter1/f timeout=0 -->",
            "<!-- output: chapter1/g tolerance=20 -->",
            "<!-- output: chapter1/h mode=exact mode=unordered -->",
            "<!-- output: chapter1/i pids=12,x -->",
            "<!-- output: chapter1/ok mode=exact -->",
        ]
        let page = Page(text: lines.joined(separator: "\n") + "\n", path: "p.md")
        XCTAssertEqual(page.problems.map(\.line), Array(1...10))
        XCTAssertEqual(page.markers.map(\.cell.name), ["ok"])
        XCTAssertTrue(page.problems[1].message.contains("reason"), page.problems[1].message)
        XCTAssertTrue(page.problems[0].message.contains("fuzzy"), page.problems[0].message)
    }

    func testUnterminatedFenceIsAProblem() {
        let page = Page(text: "<!-- output: chapter1/a -->\n```text\nno end\n", path: "p.md")
        XCTAssertEqual(page.problems.count, 1)
        XCTAssertEqual(page.problems.first?.line, 2)
    }

    // MARK: - Regions

    func testRegionExtractionDedentsAndDropsTrailingBlankLines() {
        let source = """
            struct A {
                func f() {
                    // cell: first
                    let a = 1
                        let b = 2\("  ")

                    print(a, b)\t

                    // end cell
                }
            }
            // cell: second
            top()
            // end cell
            """
        let set = RegionSet(files: [(path: "x.swift", text: source)])
        XCTAssertEqual(set.problems, [])
        XCTAssertEqual(set.regions.map(\.name), ["first", "second"])
        XCTAssertEqual(set["first"]?.lines, ["let a = 1", "    let b = 2  ", "", "print(a, b)\t"])
        XCTAssertEqual(set["first"]?.line, 3)
        XCTAssertEqual(set["second"]?.lines, ["top()"])
    }

    func testRegionErrors() {
        let unterminated = RegionSet(files: [(path: "a.swift", text: "// cell: a\nx\n")])
        XCTAssertEqual(unterminated.problems.map(\.line), [1])
        XCTAssertTrue(unterminated.problems[0].message.contains("no '// end cell'"))

        let nested = RegionSet(files: [(path: "a.swift", text: "// cell: a\n// cell: b\n// end cell\n")])
        XCTAssertFalse(nested.problems.isEmpty)
        XCTAssertTrue(nested.problems.contains { $0.message.contains("nest") })

        let duplicate = RegionSet(files: [
            (path: "a.swift", text: "// cell: a\nx\n// end cell\n"),
            (path: "b.swift", text: "\n// cell: a\ny\n// end cell\n"),
        ])
        XCTAssertEqual(duplicate.problems.count, 1)
        XCTAssertEqual(duplicate.problems.first?.path, "b.swift")
        XCTAssertEqual(duplicate.problems.first?.line, 2)
        XCTAssertTrue(duplicate.problems[0].message.contains("twice"))

        let stray = RegionSet(files: [(path: "a.swift", text: "x\n// end cell\n")])
        XCTAssertEqual(stray.problems.map(\.line), [2])
    }

    // MARK: - Normalization

    func testPidNormalizationKeepsIdentity() {
        let expected = ["parent 100 started child 200", "child 200: done", "parent 100: joined 200, exit 0"]
        let same = ["parent 4100 started child 4200", "child 4200: done", "parent 4100: joined 4200, exit 0"]
        XCTAssertTrue(
            Compare.compare(
                expected: expected, expectedPids: [100, 200], actual: same,
                actualPids: [4100, 4200], mode: .exact
            ).matches)
        // One pid where the book has two distinct ones: identity differs.
        let merged = ["parent 4100 started child 4100", "child 4100: done", "parent 4100: joined 4100, exit 0"]
        XCTAssertFalse(
            Compare.compare(
                expected: expected, expectedPids: [100, 200], actual: merged,
                actualPids: [4100], mode: .exact
            ).matches)
        // Swapped roles.
        let swapped = ["parent 4200 started child 4100", "child 4200: done", "parent 4100: joined 4200, exit 0"]
        XCTAssertFalse(
            Compare.compare(
                expected: expected, expectedPids: [100, 200], actual: swapped,
                actualPids: [4100, 4200], mode: .exact
            ).matches)

        XCTAssertEqual(
            Normalize.normalizePids(["a 77 b 770 c 77x 1.77 77.5 (77)"], pids: [77]),
            ["a <pid 1> b 770 c 77x 1.77 77.5 (<pid 1>)"])
        // A number that is not a pid of the run stays literal and must match.
        XCTAssertFalse(
            Compare.compare(
                expected: ["exit 3"], expectedPids: [3], actual: ["exit 4"],
                actualPids: [9], mode: .exact
            ).matches)
        XCTAssertEqual(
            Normalize.pidsOccurring(in: ["pid 30 and 10", "10 again; 20x"], known: [10, 20, 30, 40]), [10, 30])
    }

    func testPidIdentityUnderReorderingModes() {
        let expected = ["A 100", "B 100", "C 200"]
        let actual = ["C 201", "A 101", "B 101"]
        XCTAssertTrue(
            Compare.compare(
                expected: expected, expectedPids: [100, 200], actual: actual,
                actualPids: [101, 201], mode: .unordered
            ).matches)
        let wrong = ["C 101", "A 101", "B 201"]
        XCTAssertFalse(
            Compare.compare(
                expected: expected, expectedPids: [100, 200], actual: wrong,
                actualPids: [101, 201], mode: .unordered
            ).matches)

        let streams = ["worker 10: start", "worker 20: start", "worker 10: done", "worker 20: done"]
        let other = ["worker 21: start", "worker 11: start", "worker 21: done", "worker 11: done"]
        XCTAssertTrue(
            Compare.compare(
                expected: streams, expectedPids: [10, 20], actual: other,
                actualPids: [11, 21], mode: .interleaved
            ).matches)
    }

    func testDurationsWithinTolerance() {
        func match(_ e: String, _ a: String, _ tolerance: Double? = 20) -> Bool {
            Normalize.linesMatch(expected: e, actual: a, tolerance: tolerance)
        }
        XCTAssertTrue(match("took 1.00 s", "took 1.15 s"))
        XCTAssertFalse(match("took 1.00 s", "took 1.30 s"))
        XCTAssertTrue(match("took 250ms", "took 0.26 s"))
        XCTAssertTrue(match("a 5 µs, b 300 ns, c 12us", "a 5.5 µs, b 280 ns, c 11us"))
        XCTAssertFalse(match("took 1.00 s", "took 1.05 s", nil), "no tolerance declared: exact")
        XCTAssertFalse(match("took 1.00 s", "took 1.00 s!"), "the rest of the line must be equal")
        XCTAssertFalse(match("5 seconds", "6 seconds"), "'seconds' is not a unit token")
        XCTAssertFalse(match("took 1 s then 2 s", "took 1 s"))
        XCTAssertEqual(Normalize.splitDurations("x1s 2s 3.5 ms").seconds, [2, 0.0035])

        let comparison = Compare.compare(
            expected: ["round 1: 0.20 s", "total 0.40 s"], expectedPids: [],
            actual: ["round 1: 0.21 s", "total 0.39 s"], actualPids: [],
            mode: .exact, tolerance: 10)
        XCTAssertTrue(comparison.matches)
        XCTAssertTrue(
            Compare.compare(
                expected: ["x 1.0 s", "x 2.0 s"], expectedPids: [], actual: ["x 2.1 s", "x 0.9 s"],
                actualPids: [], mode: .unordered, tolerance: 15
            ).matches)
    }

    // MARK: - Modes

    func testModes() {
        func check(_ e: [String], _ a: [String], _ mode: OutputMode) -> Bool {
            Compare.compare(expected: e, expectedPids: [], actual: a, actualPids: [], mode: mode).matches
        }
        XCTAssertTrue(check(["a", "b"], ["a", "b"], .exact))
        XCTAssertFalse(check(["a", "b"], ["b", "a"], .exact))
        XCTAssertFalse(check(["a", "b"], ["a", "b", ""], .exact))
        XCTAssertFalse(check(["a "], ["a"], .exact), "trailing whitespace is significant")

        XCTAssertTrue(check(["a", "b", "a"], ["b", "a", "a"], .unordered))
        XCTAssertFalse(check(["a", "b", "a"], ["b", "a", "b"], .unordered))
        XCTAssertFalse(check(["a", "b"], ["b", "a", "a"], .unordered))

        let book = ["p: start", "q: start", "p: end", "q: end", "no colon"]
        XCTAssertTrue(check(book, ["q: start", "q: end", "p: start", "no colon", "p: end"], .interleaved))
        XCTAssertFalse(
            check(book, ["p: end", "q: start", "p: start", "q: end", "no colon"], .interleaved),
            "one stream's lines must stay in order")
        XCTAssertFalse(check(book, ["p: start", "q: start", "p: end", "q: end"], .interleaved), "a line is missing")
        XCTAssertFalse(check(book, book + ["p: end"], .interleaved), "a stream has an extra line")
        XCTAssertFalse(check(book, ["p: start", "r: start", "p: end", "q: end", "no colon"], .interleaved))
    }

    // MARK: - Diff

    func testVisibleInvisibles() {
        XCTAssertEqual(Diff.visible("a\tb  "), "a→b··")
        XCTAssertEqual(Diff.visible("x y\r"), "x y␍")
        XCTAssertEqual(Diff.visible("\u{1B}[0m\u{7F}"), "\\u{1B}[0m\\u{7F}")
        XCTAssertEqual(Diff.visible("plain µ"), "plain µ")
    }

    func testUnifiedDiff() {
        let expected = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]
        var actual = expected
        actual[4] = "five "
        actual.append("11\t")
        let diff = Diff.unified(expected: expected, actual: actual, same: { expected[$0] == actual[$1] }, context: 2)
        XCTAssertEqual(
            diff,
            """
            --- expected
            +++ actual
            @@ -3,5 +3,5 @@
             3
             4
            -5
            +five·
             6
             7
            @@ -9,2 +9,3 @@
             9
             10
            +11→
            """)
        XCTAssertEqual(Diff.unified(expected: ["a"], actual: ["a"], same: { _, _ in true }), "")
        XCTAssertEqual(
            Diff.unified(expected: [], actual: ["x"], same: { _, _ in false }),
            "--- expected\n+++ actual\n@@ -0,0 +1,1 @@\n+x")

        let comparison = Compare.compare(
            expected: ["same", "old\r"], expectedPids: [], actual: ["same", "new"],
            actualPids: [], mode: .exact)
        XCTAssertFalse(comparison.matches)
        XCTAssertTrue(comparison.diff.contains("-old␍\n+new"), comparison.diff)
    }

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

// MARK: - Helpers

/// A temporary package root with one fake chapter: `Chapters/chapter9/x.swift`,
/// `book/09-fake.md`, and `bin/chapter9`, a shell script that lists and runs cells.
private struct FakeBook {
    let root: String
    var binary: String { root + "/bin/chapter9" }
    var checker: BookChecker { BookChecker(root: root, binDir: root + "/bin") }

    let source = """
        func greet(_ name: String) { print("hello, \\(name)") }

        func cells() {
            // cell: greet
            greet("world")
              // indented
            // end cell
            // cell: shuffle
            for line in ["b", "a", "c"].shuffled() { print(line) }
            // end cell
        }

        """

    static let script = #"""
        #!/bin/sh
        echo $$ >> "$MP_PID_LOG"
        case "$1" in
        --list)
            printf 'hello  Says hello\n'
            printf 'lines  Prints lines in any order\n'
            printf 'pids  Prints pids\n'
            printf 'tty  Needs a terminal\n'
            # More cells (fails, noisy, …) are listed only when a test puts them in this file.
            if [ -f "$0.extra" ]; then cat "$0.extra"; fi
            ;;
        hello) echo "hello, world" ;;
        lines) if [ $(( $$ % 2 )) = 0 ]; then printf 'b\na\nc\n'; else printf 'c\nb\na\n'; fi ;;
        pids)
            echo "parent $$"
            sh -c 'echo $$ >> "$MP_PID_LOG"; echo "child $$ of '"$$"'"'
            echo "parent $$ again"
            ;;
        fails) echo "before failing"; exit 3 ;;
        noisy) echo out; echo oops >&2 ;;
        merged) echo one; echo two >&2; echo three ;;
        forever) echo sleeping; sleep 1000 ;;
        orphan) sleep 1000 & echo $! >> "$MP_PID_LOG"; echo "left a child behind" ;;
        escape)
            # Leaves the process group (new session) but keeps stdout; waits until it has left.
            rm -f "$0.ready"
            setsid sh -c ': > "$0.ready"; exec sleep 1000' "$0" &
            echo $! >> "$MP_PID_LOG"
            while [ ! -f "$0.ready" ]; do sleep 0.01; done
            echo "escaped"
            ;;
        env) env | sort; if read line; then echo "stdin has data"; else echo "stdin is empty"; fi ;;
        *) echo "no cell $1" >&2; exit 2 ;;
        esac
        """#

    init() throws {
        var template = Array("/tmp/bookkit-test-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BookError("mkdtemp failed")
        }
        root = String(cString: made)
        try mkdir("Chapters")
        try mkdir("Chapters/chapter9")
        try mkdir("book")
        try mkdir("bin")
        try writeSource(source)
        try FileSystem.writeTextAtomically(binary, FakeBook.script + "\n")
        chmod(binary, 0o755)
        try FileSystem.writeTextAtomically(root + "/book/README.md", "# Contents\n\n- [Fake](09-fake.md)\n")
    }

    func mkdir(_ path: String) throws {
        if Glibc.mkdir(root + "/" + path, 0o755) != 0 { throw BookError("mkdir \(path) failed") }
    }

    func writeSource(_ text: String) throws {
        try FileSystem.writeTextAtomically(root + "/Chapters/chapter9/x.swift", text)
    }

    func writePage(_ text: String) throws {
        try FileSystem.writeTextAtomically(root + "/book/09-fake.md", text)
    }

    func pageText() throws -> String {
        try FileSystem.readText(root + "/book/09-fake.md")
    }

    /// The page; nil blocks leave their marker without a fenced block.
    func page(pidBlock: String?, helloBlock: String?, codeBlock: String?) -> String {
        """
        # Fake chapter

        Some prose that must survive.
        <!-- code: chapter9/greet -->
        \(codeBlock.map { $0 + "\n" } ?? "")
        A paragraph  with two spaces and a tab\there.

        <!-- output: chapter9/hello -->
        \(helloBlock.map { $0 + "\n" } ?? "")
        <!-- output: chapter9/pids mode=exact -->
        \(pidBlock.map { $0 + "\n" } ?? "")
        <!-- code: chapter9/shuffle -->
        ```swift
        for line in ["b", "a", "c"].shuffled() { print(line) }
        ```

        <!-- output: chapter9/lines mode=unordered -->
        ```text
        a
        b
        c
        ```

        <!-- output: chapter9/tty mode=manual reason="needs a terminal" -->
        ```text
        (interactive)
        ```

        Closing prose.
        """
    }

    /// Writes the page and blesses it once, so that it matches.
    func writeBlessedPage() throws {
        try writePage(
            page(
                pidBlock: "```text\n```", helloBlock: "```text\nhello, world\n```",
                codeBlock: "```swift\ngreet(\"world\")\n  // indented\n```"))
        let report = checker.update(chapters: nil)
        guard report.isSuccess else { throw BookError("could not bless the fake page:\n" + report.rendered) }
    }

    /// Makes `--list` also list these cells (the script runs any of its cells when asked).
    func listMoreCells(_ ids: [String]) throws {
        try FileSystem.writeTextAtomically(binary + ".extra", ids.map { "\($0)  More" }.joined(separator: "\n") + "\n")
    }

    func remove() { removeTree(root) }
}

private func removeTree(_ path: String) {
    if FileSystem.isDirectory(path) {
        for name in (try? FileSystem.list(path)) ?? [] { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

private func openDescriptors() throws -> [String] {
    try FileSystem.list("/proc/self/fd")
}

/// Whether a process is gone or a zombie (dead; its parent has not reaped it yet).
private func isGoneOrZombie(_ pid: Int32) -> Bool {
    guard let stat = try? FileSystem.readText("/proc/\(pid)/stat") else { return true }
    guard let close = stat.lastIndex(of: ")") else { return true }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.first == "Z" || fields.first == "X"
}

private func waitUntilGone(pid: Int32, seconds: Double = 20) -> Bool {
    poll(seconds) { isGoneOrZombie(pid) }
}

/// Whether no live (non-zombie) process has process group `group`, waiting up to `seconds`.
private func waitUntilGone(group: Int32, seconds: Double = 20) -> Bool {
    poll(seconds) {
        let pids = ((try? FileSystem.list("/proc")) ?? []).compactMap { Int32($0) }
        return !pids.contains { pid in
            guard let stat = try? FileSystem.readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else {
                return false
            }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // fields: state, ppid, pgrp, …
            return fields.count > 2 && fields[0] != "Z" && fields[0] != "X" && Int32(fields[2]) == group
        }
    }
}

private func poll(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    var waited = 0.0
    while waited < seconds {
        if condition() { return true }
        usleep(50_000)
        waited += 0.05
    }
    return condition()
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}

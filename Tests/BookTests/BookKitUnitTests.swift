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

    /// A measured number (`~12.3 ms`) may change freely; a changed word, unit or plain number
    /// around it still fails, and a measured number is never taken for a pid.
    func testMeasuredNumbersAreNotCompared() {
        func check(_ e: [String], _ a: [String], _ mode: OutputMode = .exact, pids: [Int32] = []) -> Bool {
            Compare.compare(expected: e, expectedPids: pids, actual: a, actualPids: pids, mode: mode).matches
        }
        XCTAssertEqual(
            Normalize.maskMeasured("2 threads: 25997 primes  ~137.0 ms"), "2 threads: 25997 primes  ~<measured> ms")
        XCTAssertEqual(
            Normalize.maskMeasured("~4 and ~0.5x, ~ 3, a~b, 1.5~"), "~<measured> and ~<measured>x, ~ 3, a~b, 1.5~")
        XCTAssertEqual(Normalize.maskMeasured("no tilde 12.5"), "no tilde 12.5")

        XCTAssertTrue(check(["2 threads: 25997 primes  ~137.0 ms"], ["2 threads: 25997 primes  ~4012.7 ms"]))
        XCTAssertTrue(check(["took ~12 ms"], ["took ~0.3 ms"]))
        XCTAssertFalse(
            check(["2 threads: 25997 primes  ~137.0 ms"], ["2 processes: 25997 primes  ~137.0 ms"]),
            "a changed word fails")
        XCTAssertFalse(
            check(["2 threads: 25997 primes  ~137.0 ms"], ["2 threads: 25998 primes  ~137.0 ms"]),
            "a plain number is compared")
        XCTAssertFalse(check(["took ~137.0 ms"], ["took ~137.0 s"]), "the unit is compared")
        XCTAssertFalse(check(["took ~137.0 ms"], ["took 137.0 ms"]), "the ~ is part of the text")
        XCTAssertTrue(check(["b ~1.0 ms", "a ~2.0 ms"], ["a ~9.9 ms", "b ~0.1 ms"], .unordered))
        XCTAssertTrue(check(["x: ~1.0 ms", "y: ~2.0 ms"], ["y: ~3.0 ms", "x: ~0.1 ms"], .interleaved))

        // A measured number equal to a pid stays measured: it neither matches nor breaks pid identity.
        XCTAssertTrue(check(["pid 4242 took ~17 ms"], ["pid 4242 took ~4242 ms"], pids: [4242]))
        XCTAssertEqual(Normalize.pidsOccurring(in: ["took ~4242 ms"], known: [4242]), [])
        XCTAssertEqual(Normalize.pidsOccurring(in: ["pid 4242 took ~4242 ms"], known: [4242]), [4242])

        // The diff shows the raw lines, measured numbers included, and only for a real difference.
        let comparison = Compare.compare(
            expected: ["same ~1.0 ms", "old word"], expectedPids: [], actual: ["same ~2.0 ms", "new word"],
            actualPids: [], mode: .exact)
        XCTAssertFalse(comparison.matches)
        XCTAssertTrue(comparison.diff.contains("-old word"), comparison.diff)
        XCTAssertTrue(comparison.diff.contains("+new word"), comparison.diff)
        XCTAssertFalse(comparison.diff.contains("-same"), comparison.diff)
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

}

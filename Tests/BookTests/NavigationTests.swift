import XCTest

@testable import BookKit

/// The book's page conventions (``Conventions``): each output block's run line, the recap, the
/// navigation line, every relative link, and a link to the Python ↔ Swift page on every page. The
/// checks are proven on a fixture page that follows them and on mutated copies that each break one.
final class NavigationTests: XCTestCase {
    private let chapterPages = ["01-fork.md", "02-process.md", "03-daemon-join.md"]

    /// A chapter-2 page that follows every convention.
    private let goodPage = """
        # Chapter 2 — Process

        Run the chapter with `swift run chapter2`.

        <!-- code: chapter2/hello -->
        ```swift
        print("hello")
        ```

        `swift run chapter2 hello` prints:

        <!-- output: chapter2/hello -->
        ```text
        hello
        ```

        The writers take turns in any order. One possible run of `swift run chapter2 writers`:

        <!-- output: chapter2/writers mode=interleaved -->
        ```text
        a: 1
        b: 1
        ```

        <!-- output: chapter2/tty mode=manual reason="needs a terminal" -->
        ```text
        (interactive)
        ```

        ## Recap

        - one
        - two
          (a continuation line)
        - three

        ---

        [← Chapter 1: fork](01-fork.md) · [Contents](README.md) · [Python ↔ Swift](python-and-swift.md) · [Chapter 3: Daemons and join →](03-daemon-join.md)

        """

    private func problems(_ text: String, fileName: String = "02-process.md", pages: [String]? = nil) -> [String] {
        Conventions.chapterPageProblems(
            text, path: "book/\(fileName)", fileName: fileName, chapterPages: pages ?? chapterPages
        ).map(\.message)
    }

    private func assertOneProblem(
        _ text: String, containing expected: String, pages: [String]? = nil, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let found = problems(text, pages: pages)
        XCTAssertEqual(found.count, 1, found.joined(separator: "\n"), file: file, line: line)
        XCTAssertTrue(
            found.contains { $0.contains(expected) }, "expected \"\(expected)\" in:\n" + found.joined(separator: "\n"),
            file: file, line: line)
    }

    // MARK: - The fixture, and one mutation per rule

    func testTheFixturePageFollowsTheConventions() {
        XCTAssertEqual(problems(goodPage), [])
    }

    func testAMissingRunLineFails() {
        let mutated = goodPage.replacingOccurrences(of: "`swift run chapter2 hello` prints:", with: "It prints:")
        XCTAssertNotEqual(mutated, goodPage)
        assertOneProblem(mutated, containing: "does not show `swift run chapter2 hello`")
    }

    func testARunLineNamingAnotherCellFails() {
        let mutated = goodPage.replacingOccurrences(
            of: "`swift run chapter2 hello` prints:", with: "`swift run chapter2 writers` prints:")
        assertOneProblem(mutated, containing: "does not show `swift run chapter2 hello`")
    }

    func testARunLineMayAddARedirectionButNotChangeTheCell() {
        let redirected = goodPage.replacingOccurrences(
            of: "`swift run chapter2 hello` prints:", with: "`swift run chapter2 hello 2>&1` prints:")
        XCTAssertNotEqual(redirected, goodPage)
        XCTAssertEqual(problems(redirected), [])
        let longer = goodPage.replacingOccurrences(
            of: "`swift run chapter2 hello` prints:", with: "`swift run chapter2 hello-world` prints:")
        assertOneProblem(longer, containing: "does not show `swift run chapter2 hello`")
    }

    func testARunLineOfAnotherChapterFails() {
        let mutated = goodPage.replacingOccurrences(
            of: "`swift run chapter2 hello` prints:", with: "`swift run chapter3 hello` prints:")
        assertOneProblem(mutated, containing: "does not show `swift run chapter2 hello`")
    }

    func testARunLineHiddenInAnHTMLCommentFails() {
        let mutated = goodPage.replacingOccurrences(
            of: "`swift run chapter2 hello` prints:", with: "<!-- `swift run chapter2 hello` prints: -->")
        assertOneProblem(mutated, containing: "is an HTML comment")
    }

    func testAVaryingBlockWithoutOnePossibleRunFails() {
        let mutated = goodPage.replacingOccurrences(
            of: "One possible run of `swift run chapter2 writers`:", with: "`swift run chapter2 writers` prints:")
        assertOneProblem(mutated, containing: "mode=interleaved")
    }

    func testSevenRecapItemsFail() {
        let mutated = goodPage.replacingOccurrences(of: "- three\n", with: "- three\n- four\n- five\n- six\n- seven\n")
        assertOneProblem(mutated, containing: "the recap has 7 \"- \" items (3 to 6 expected)")
    }

    func testTwoRecapItemsFail() {
        let mutated = goodPage.replacingOccurrences(of: "- three\n", with: "")
        assertOneProblem(mutated, containing: "the recap has 2 \"- \" items")
    }

    func testAMissingRecapFails() {
        let mutated = goodPage.replacingOccurrences(of: "## Recap", with: "## Summary")
        assertOneProblem(mutated, containing: "no \"## Recap\" section")
    }

    func testAnExercisesSectionBetweenRecapAndNavigationIsAllowed() {
        let mutated = goodPage.replacingOccurrences(
            of: "- three\n", with: "- three\n\n## Exercises\n\n- try this\n- and this\n- and that\n- and more\n")
        XCTAssertEqual(problems(mutated), [])
    }

    func testAPageWithoutTheClosingRuleFails() {
        let mutated = goodPage.replacingOccurrences(of: "---\n", with: "")
        assertOneProblem(mutated, containing: "does not end with a \"---\" line")
    }

    func testTextAfterTheNavigationLineFails() {
        assertOneProblem(goodPage + "\nOne more paragraph.\n", containing: "does not end with a \"---\" line")
    }

    func testANavigationLineWithoutThePreviousChapterFails() {
        let mutated = goodPage.replacingOccurrences(of: "[← Chapter 1: fork](01-fork.md) · ", with: "")
        assertOneProblem(
            mutated, containing: "the navigation links to README.md, python-and-swift.md, 03-daemon-join.md")
    }

    func testANavigationLineWithoutTheCorrespondencePageFails() {
        let mutated = goodPage.replacingOccurrences(of: " · [Python ↔ Swift](python-and-swift.md)", with: "")
        assertOneProblem(mutated, containing: "expected: [← Chapter 1: …](01-fork.md)")
    }

    func testANavigationLinkWithTheWrongTextFails() {
        let mutated = goodPage.replacingOccurrences(of: "[Contents](README.md)", with: "[Home](README.md)")
        assertOneProblem(mutated, containing: "reads \"Home\"")
    }

    func testTheLastChapterLeadsToTroubleshooting() {
        let pages = ["01-fork.md", "02-process.md"]
        assertOneProblem(goodPage, containing: "expected: ", pages: pages)
        let last = goodPage.replacingOccurrences(
            of: "[Chapter 3: Daemons and join →](03-daemon-join.md)", with: "[Troubleshooting →](troubleshooting.md)")
        XCTAssertEqual(problems(last, pages: pages), [])
    }

    func testTheFirstChapterHasNoPreviousLink() {
        let first = goodPage.replacingOccurrences(of: "chapter2", with: "chapter1")
            .replacingOccurrences(of: "[← Chapter 1: fork](01-fork.md) · ", with: "")
            .replacingOccurrences(
                of: "[Chapter 3: Daemons and join →](03-daemon-join.md)", with: "[Chapter 2: Process →](02-process.md)")
        XCTAssertEqual(problems(first, fileName: "01-fork.md"), [])
    }

    // MARK: - Links

    /// A small book on disk: three pages, one of them a chapter, and a top-level README.
    private func makeBook(_ pages: [String: String]) throws -> String {
        let root = try FileSystem.makeTemporaryDirectory(prefix: "navigation-test")
        addTeardownBlock { FileSystem.removeTree(root) }
        try FileSystem.makeDirectories(root + "/book")
        for (path, text) in pages { try FileSystem.writeTextAtomically(root + "/" + path, text) }
        return root
    }

    private let fixtureBook: [String: String] = [
        "README.md":
            "# Project\n\nRead [the book](book/README.md), or [its Python names](book/python-and-swift.md#processes).\n",
        "book/README.md": "# Contents\n\n1. [fork](01-fork.md)\n\n[Python ↔ Swift](python-and-swift.md)\n",
        "book/python-and-swift.md":
            "# Python ↔ Swift\n\n## Processes\n\nSee [the last section](#the-gil-and-threads).\n\n## The GIL and threads\n\n[Contents](README.md)\n",
        "book/troubleshooting.md":
            "# When things go wrong\n\n```sh\n[not a link](nowhere.md)\n```\n\n`[not a link either](nowhere.md)`\n\n[Contents](README.md) · [Python ↔ Swift](python-and-swift.md)\n",
        "book/01-fork.md":
            "# Chapter 1\n\n## Recap\n\n- a\n- b\n- c\n\n---\n\n[Contents](README.md) · [Python ↔ Swift](python-and-swift.md) · [Troubleshooting →](troubleshooting.md)\n",
    ]

    func testTheFixtureBookHasNoProblems() throws {
        let root = try makeBook(fixtureBook)
        let found = Conventions.check(root: root, bookDir: root + "/book")
        XCTAssertEqual(found, [], found.map(\.description).joined(separator: "\n"))
    }

    func testABrokenLinkFails() throws {
        var book = fixtureBook
        book["book/troubleshooting.md"]! += "\nSee [chapter 9](09-threads-or-processes.md).\n"
        let root = try makeBook(book)
        let found = Conventions.check(root: root, bookDir: root + "/book")
        XCTAssertEqual(
            found.map(\.description),
            ["book/troubleshooting.md:11: broken link: 09-threads-or-processes.md does not exist"])
    }

    func testALinkToAMissingHeadingFails() throws {
        var book = fixtureBook
        book["README.md"] = book["README.md"]!.replacingOccurrences(of: "#processes", with: "#pools")
        book["book/python-and-swift.md"] = book["book/python-and-swift.md"]!.replacingOccurrences(
            of: "#the-gil-and-threads", with: "#the-gil")
        let root = try makeBook(book)
        let found = Conventions.check(root: root, bookDir: root + "/book").map(\.description)
        XCTAssertEqual(found.count, 2, found.joined(separator: "\n"))
        XCTAssertTrue(
            found.contains(
                "README.md:3: broken link: book/python-and-swift.md#pools names no heading of book/python-and-swift.md"),
            found.joined(separator: "\n"))
        XCTAssertTrue(
            found.contains("book/python-and-swift.md:5: broken link: #the-gil names no heading of this page"),
            found.joined(separator: "\n"))
    }

    func testAPageWithoutALinkToTheCorrespondencePageFails() throws {
        var book = fixtureBook
        book["book/README.md"] = "# Contents\n\n1. [fork](01-fork.md)\n"
        let root = try makeBook(book)
        let found = Conventions.check(root: root, bookDir: root + "/book").map(\.description)
        XCTAssertEqual(found, ["book/README.md: no link to python-and-swift.md"])
    }

    func testAChapterPageIsCheckedInTheBook() throws {
        var book = fixtureBook
        book["book/01-fork.md"] = book["book/01-fork.md"]!.replacingOccurrences(of: "- c\n", with: "")
        let root = try makeBook(book)
        let found = Conventions.check(root: root, bookDir: root + "/book").map(\.description)
        XCTAssertEqual(found, ["book/01-fork.md:3: the recap has 2 \"- \" items (3 to 6 expected)"])
        XCTAssertEqual(Conventions.check(root: root, bookDir: root + "/book", chapters: ["chapter2"]), [])
    }

    func testAnchorsFollowGitHub() {
        XCTAssertEqual(Conventions.anchor(ofHeading: "Without a lock, output can mix"), "without-a-lock-output-can-mix")
        XCTAssertEqual(Conventions.anchor(ofHeading: "`Pool` and `map`: fixed work"), "pool-and-map-fixed-work")
        XCTAssertEqual(Conventions.anchor(ofHeading: "Python ↔ Swift"), "python--swift")
        XCTAssertEqual(Conventions.anchors(of: "# A\n## A\n## A\n"), ["a", "a-1", "a-2"])
    }

    func testLinksAreFoundOutsideCodeOnly() {
        let links = markdownLinks(in: "see [`Lock`](04-lock.md#a) and `[x](y.md)` and ![pic](p.png \"title\")")
        XCTAssertEqual(links.map(\.target), ["04-lock.md#a", "p.png"])
        XCTAssertEqual(links.first?.text, "`Lock`")
    }

    // MARK: - The real book

    /// The real book follows the conventions. (It fails until every chapter page has its run lines,
    /// recap and navigation, and the pages the contents link exist.)
    func testEveryChapterPageFollowsTheConventions() throws {
        let root = try XCTUnwrap(BookPaths.packageRoot(from: #filePath), "no Package.swift above \(#filePath)")
        let found = Conventions.check(root: root, bookDir: root + "/book")
        XCTAssertEqual(
            found.count, 0, "\n" + found.map(\.description).joined(separator: "\n"))
    }

    /// `book check` reports convention problems apart from the block failures: a fake page that breaks
    /// them still passes the block check, and the report lists the problems.
    func testBookCheckReportsConventionProblemsApart() throws {
        let book = try FakeBook()
        defer { book.remove() }
        try book.writeBlessedPage()
        let report = book.checker.check(chapters: nil)
        XCTAssertTrue(report.isSuccess, report.rendered)
        XCTAssertFalse(report.isClean)
        XCTAssertTrue(report.rendered.contains("CONVENTIONS: "), report.rendered)
        XCTAssertTrue(
            report.conventionProblems.contains { $0.message.contains("does not show `swift run chapter9 hello`") },
            report.rendered)
        XCTAssertTrue(report.conventionProblems.contains { $0.message == "no \"## Recap\" section" }, report.rendered)
    }
}

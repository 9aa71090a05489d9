/// Checks the book against the chapter sources and fresh runs of the chapter binaries, and
/// blesses (rewrites) what no longer matches.
///
/// Layout: pages are `<bookDir>/*.md` (a page named `NN-name.md` belongs to chapter N; a page
/// without markers that belongs to no chapter, like README.md, is ignored), sources are
/// `<root>/Chapters/chapterN/**/*.swift`, binaries are `<binDir>/chapterN`.
public struct BookChecker: Sendable {
    /// The package root (holds `Chapters/`).
    public let root: String
    /// Where the `chapterN` binaries are.
    public let binDir: String
    /// Where the pages are.
    public let bookDir: String
    /// How cells are run (time scale, drain time, output limit).
    public var runner = Runner()

    /// - Parameters:
    ///   - root: the package root (holds `Chapters/`).
    ///   - binDir: the directory with the built `chapterN` binaries.
    ///   - bookDir: the pages' directory; default `<root>/book`.
    public init(root: String, binDir: String, bookDir: String? = nil) {
        self.root = root
        self.binDir = binDir
        self.bookDir = bookDir ?? "\(root)/book"
    }

    /// Checks the given chapters (`chapter3` or `3`; nil = every chapter that has a page, a
    /// marker or a `Chapters/` directory): every code block equals its region and every
    /// region is shown; every cell has exactly one output block and every block a cell; every
    /// non-manual output block matches a fresh run by its mode. Changes nothing. The pages'
    /// conventions (``Conventions``) are checked too and reported apart, in `conventionProblems`.
    /// Cost: one `--list` run per chapter plus one run per output block, one at a time.
    public func check(chapters: [String]? = nil) -> BookReport {
        process(chapters: chapters, bless: false)
    }

    /// Runs like `check`, then rewrites, by their recorded line positions, the code blocks
    /// that differ from their regions and the output blocks that do not match a successful
    /// run (with `pids=` set to that run's pids), and inserts missing blocks after their
    /// markers. Blocks that still match stay byte-for-byte unchanged; prose is never touched.
    /// What it cannot fix (failed runs, missing binaries, cells without blocks, …) stays in
    /// the report's failures.
    public func update(chapters: [String]? = nil) -> BookReport {
        process(chapters: chapters, bless: true)
    }

    // MARK: - Orchestration

    private struct LoadedPage {
        let path: String
        let page: Page
        let text: String
        /// The chapter its `NN-` file name gives, if any.
        let chapter: String?
    }

    /// Collects failures and edits for one run of check or update.
    private final class Context {
        var report: BookReport
        var edits: [String: [PageEdit]] = [:]
        let checker: BookChecker

        init(action: String, checker: BookChecker) {
            report = BookReport(action: action)
            self.checker = checker
        }

        func fail(
            _ location: String, cell: String? = nil, chapter: String? = nil, _ message: String,
            details: [String] = [], hint: String? = nil
        ) {
            var lines = ["FAIL " + location + (cell.map { "  " + $0 } ?? "") + ": " + message]
            lines += details
            if let hint { lines.append(hint) }
            report.failures.append(
                BookFailure(
                    location: location, cell: cell, chapter: chapter, message: message,
                    rendered: lines.joined(separator: "\n")))
        }

        func display(_ path: String) -> String { checker.display(path) }
    }

    func display(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }

    private func process(chapters filter: [String]?, bless: Bool) -> BookReport {
        let context = Context(action: bless ? "update" : "check", checker: self)

        var wanted: Set<String>?
        if let filter {
            var names = Set<String>()
            for name in filter {
                if let chapter = normalizeChapterName(name) {
                    names.insert(chapter)
                } else {
                    context.fail(name, "not a chapter name (use chapterN or N)")
                }
            }
            wanted = names
        }

        let pages = loadPages(context)
        var chapters = Set<String>()
        for loaded in pages {
            if let chapter = loaded.chapter { chapters.insert(chapter) }
            for marker in loaded.page.markers { chapters.insert(marker.cell.chapter) }
        }
        for name in (try? FileSystem.list("\(root)/Chapters")) ?? [] where chapterNumber(name) != nil {
            if FileSystem.isDirectory("\(root)/Chapters/\(name)") { chapters.insert(name) }
        }
        if let wanted { chapters = wanted }

        for loaded in pages {
            let relevant =
                loaded.chapter.map(chapters.contains) == true
                || loaded.page.markers.contains { chapters.contains($0.cell.chapter) }
                || (wanted == nil && !loaded.page.problems.isEmpty)
            guard relevant else { continue }
            for problem in loaded.page.problems {
                context.fail("\(display(problem.path)):\(problem.line)", problem.message)
            }
        }

        for chapter in chapters.sorted(by: { (chapterNumber($0) ?? 0) < (chapterNumber($1) ?? 0) }) {
            processChapter(chapter, pages: pages, bless: bless, context)
        }

        if bless { applyEdits(pages: pages, context) }
        // Read after the edits: blessing touches blocks only, never the sentences and links checked here.
        context.report.conventionProblems = Conventions.check(root: root, bookDir: bookDir, chapters: wanted)
        return context.report
    }

    private func loadPages(_ context: Context) -> [LoadedPage] {
        guard FileSystem.isDirectory(bookDir) else {
            context.fail(display(bookDir), "no book directory")
            return []
        }
        var pages: [LoadedPage] = []
        do {
            for name in try FileSystem.list(bookDir) where name.hasSuffix(".md") {
                let path = "\(bookDir)/\(name)"
                do {
                    let text = try FileSystem.readText(path)
                    pages.append(
                        LoadedPage(
                            path: path, page: Page(text: text, path: display(path)), text: text,
                            chapter: pageChapter(name)))
                } catch {
                    context.fail(display(path), error.message)
                }
            }
        } catch {
            context.fail(display(bookDir), error.message)
        }
        return pages
    }

    private func processChapter(_ chapter: String, pages: [LoadedPage], bless: Bool, _ context: Context) {
        let blessHint = "to bless: swift build && swift run book update \(chapter)"
        let chapterPages = pages.filter {
            $0.chapter == chapter || $0.page.markers.contains { $0.cell.chapter == chapter }
        }
        let number = chapterNumber(chapter) ?? 0
        guard let home = chapterPages.first(where: { $0.chapter == chapter }) ?? chapterPages.first else {
            context.fail(
                display(bookDir), chapter: chapter,
                "\(chapter) has no page (expected \(display(bookDir))/\(number < 10 ? "0" : "")\(number)-<name>.md)")
            return
        }
        let markers = chapterPages.flatMap { loaded in
            loaded.page.markers.filter { $0.cell.chapter == chapter }.map { (loaded: loaded, marker: $0) }
        }
        func location(_ loaded: LoadedPage, _ marker: Marker) -> String {
            "\(display(loaded.path)):\(marker.line + 1)"
        }

        // Code blocks against regions.
        let sourceDir = "\(root)/Chapters/\(chapter)"
        let regions = RegionSet(directory: sourceDir)
        if !FileSystem.isDirectory(sourceDir) {
            context.fail(display(sourceDir), chapter: chapter, "no sources for \(chapter)")
        }
        for problem in regions.problems {
            context.fail("\(display(problem.path)):\(problem.line)", chapter: chapter, problem.message)
        }
        var shown = Set<String>()
        for (loaded, marker) in markers where marker.output == nil {
            context.report.codeBlocks += 1
            shown.insert(marker.cell.name)
            guard let region = regions[marker.cell.name] else {
                context.fail(
                    location(loaded, marker), cell: marker.cell.description, chapter: chapter,
                    "no region '\(marker.cell.name)' in \(display(sourceDir))",
                    hint: "mark it in the source with '// cell: \(marker.cell.name)' … '// end cell'")
                continue
            }
            if let block = marker.block, block.content == region.lines { continue }
            if bless {
                context.edits[loaded.path, default: []].append(codeEdit(marker, region))
                context.report.rewrites.append(
                    "\(marker.block == nil ? "inserted" : "rewrote") code block \(location(loaded, marker)) \(marker.cell) from \(display(region.path)):\(region.line)"
                )
                continue
            }
            if let block = marker.block {
                let diff = Diff.unified(
                    expected: block.content, actual: region.lines,
                    same: { block.content[$0] == region.lines[$1] },
                    labels: ("book", "source \(display(region.path))"))
                context.fail(
                    location(loaded, marker), cell: marker.cell.description, chapter: chapter,
                    "code block differs from region '\(region.name)' (\(display(region.path)):\(region.line))",
                    details: [diff], hint: blessHint)
            } else {
                context.fail(
                    location(loaded, marker), cell: marker.cell.description, chapter: chapter,
                    "the marker is not followed by a fenced block", hint: blessHint)
            }
        }
        for region in regions.regions where !shown.contains(region.name) {
            context.fail(
                "\(display(region.path)):\(region.line)", cell: "\(chapter)/\(region.name)", chapter: chapter,
                "region \(region.name) is not shown in the book",
                hint: "embed it: <!-- code: \(chapter)/\(region.name) --> followed by a ```swift block")
        }

        // Output blocks against runs.
        let outputs = markers.filter { $0.marker.output != nil }
        let binary = "\(binDir)/\(chapter)"
        guard FileSystem.isExecutableFile(binary) else {
            context.fail(
                display(binary), chapter: chapter,
                "missing chapter binary: run `swift build` first (\(outputs.count) output blocks not checked)")
            return
        }
        guard let cells = listCells(binary, chapter: chapter, context) else { return }
        let cellIds = Set(cells)
        var blocksByCell: [String: [String]] = [:]
        for (loaded, marker) in outputs { blocksByCell[marker.cell.name, default: []].append(location(loaded, marker)) }
        for cell in cells {
            let blocks = blocksByCell[cell] ?? []
            if blocks.isEmpty {
                context.fail(
                    display(home.path), cell: "\(chapter)/\(cell)", chapter: chapter,
                    "cell \(cell) has no output block",
                    hint:
                        "add <!-- output: \(chapter)/\(cell) --> to a page, then run: swift build && swift run book update \(chapter)"
                )
            } else if blocks.count > 1 {
                context.fail(
                    blocks[1], cell: "\(chapter)/\(cell)", chapter: chapter,
                    "cell \(cell) has \(blocks.count) output blocks (\(blocks.joined(separator: ", "))); keep one")
            }
        }
        for (loaded, marker) in outputs where !cellIds.contains(marker.cell.name) {
            context.fail(
                location(loaded, marker), cell: marker.cell.description, chapter: chapter,
                "block names cell \(marker.cell.name) which \(chapter) does not have (it has: \(cells.joined(separator: ", ")))"
            )
        }
        for (loaded, marker) in outputs where cellIds.contains(marker.cell.name) {
            checkOutput(
                loaded, marker, binary: binary, location: location(loaded, marker), bless: bless,
                blessHint: blessHint, context)
        }
        for loaded in chapterPages {
            for figure in loaded.page.figures where figure.cell.chapter == chapter {
                let place = "\(display(loaded.path)):\(figure.line + 1)"
                guard cellIds.contains(figure.cell.name) else {
                    context.fail(
                        place, cell: figure.cell.description, chapter: chapter,
                        "figure names cell \(figure.cell.name) which \(chapter) does not have")
                    continue
                }
                checkFigure(loaded.path, figure, binary: binary, location: place, bless: bless, context)
            }
        }
    }

    /// Runs the figure's cell traced (`--figure`) and compares the description in the fresh SVG with
    /// the one in the book's; update writes the fresh SVG only when a compared section differs.
    private func checkFigure(
        _ pagePath: String, _ figure: FigureMarker, binary: String, location: String, bless: Bool,
        _ context: Context
    ) {
        context.report.figures += 1
        let cell = figure.cell.description
        let pageDirectory = String(pagePath[..<(pagePath.lastIndex(of: "/") ?? pagePath.startIndex)])
        let imagePath = "\(pageDirectory)/\(figure.image)"
        let fresh: String
        do {
            let output = try FileSystem.makeTemporaryFile(prefix: "book-figure")
            defer { FileSystem.remove(output) }
            let result = try runner.run(binary, [figure.cell.name, "--figure", output], timeout: 60)
            guard result.termination == .exited(0) else {
                context.fail(
                    location, cell: cell, chapter: figure.cell.chapter,
                    "the traced run for the figure \(result.termination)",
                    details: runOutput(result, mergeStderr: false),
                    hint: "a failed run is never blessed: fix the cell, then check again")
                return
            }
            fresh = try FileSystem.readText(output)
        } catch {
            context.fail(location, cell: cell, chapter: figure.cell.chapter, "cannot draw the figure: \(error.message)")
            return
        }
        guard let actual = figureDescription(ofSVG: fresh) else {
            context.fail(location, cell: cell, chapter: figure.cell.chapter, "the drawn figure has no description")
            return
        }
        let stored = (try? FileSystem.readText(imagePath)).flatMap(figureDescription(ofSVG:))
        let expectedLines = stored.map { comparedLines($0, figure.compared) }
        let actualLines = comparedLines(actual, figure.compared)
        if expectedLines == actualLines { return }
        if bless {
            do {
                FileSystem.makeDirectory(String(imagePath[..<(imagePath.lastIndex(of: "/") ?? imagePath.startIndex)]))
                try FileSystem.writeTextAtomically(imagePath, fresh)
                context.report.rewrites.append(
                    "\(stored == nil ? "drew" : "redrew") figure \(display(imagePath)) for \(cell)")
            } catch {
                context.fail(
                    location, cell: cell, chapter: figure.cell.chapter, "cannot write the figure: \(error.message)")
            }
            return
        }
        guard let expectedLines else {
            context.fail(
                location, cell: cell, chapter: figure.cell.chapter,
                "figure \(display(imagePath)) is missing or has no description",
                hint: "to draw it: swift build && swift run book update \(figure.cell.chapter)")
            return
        }
        let diff = Diff.unified(
            expected: expectedLines, actual: actualLines, same: { expectedLines[$0] == actualLines[$1] },
            labels: ("figure \(display(imagePath))", "traced run"))
        context.fail(
            location, cell: cell, chapter: figure.cell.chapter,
            "the figure no longer matches its cell (compared: \(figure.compared.joined(separator: ", ")))",
            details: [diff], hint: "to redraw: swift build && swift run book update \(figure.cell.chapter)")
    }

    /// The cell ids from `chapterN --list`, or nil after reporting why there are none.
    private func listCells(_ binary: String, chapter: String, _ context: Context) -> [String]? {
        let result: RunResult
        do {
            result = try runner.run(binary, ["--list"], timeout: 60)
        } catch {
            context.fail(display(binary), chapter: chapter, "cannot list cells: \(error.message)")
            return nil
        }
        guard result.succeeded, result.stderr.isEmpty else {
            context.fail(
                display(binary) + " --list", chapter: chapter, "listing the cells failed: \(result.termination)",
                details: runOutput(result, mergeStderr: false))
            return nil
        }
        var cells: [String] = []
        for line in outputLines(result.stdout) where !trimmed(line).isEmpty {
            let id: String
            if let gap = line.firstRange(of: "  ") {
                id = String(line[..<gap.lowerBound])
            } else {
                id = trimmed(line)
            }
            guard !id.isEmpty,
                id.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" })
            else {
                context.fail(
                    display(binary) + " --list", chapter: chapter,
                    "cannot read the cell list line '\(Diff.visible(line))' (expected '<kebab-id>  <title>')")
                return nil
            }
            cells.append(id)
        }
        return cells
    }

    private func checkOutput(
        _ loaded: LoadedPage, _ marker: Marker, binary: String, location: String, bless: Bool,
        blessHint: String, _ context: Context
    ) {
        guard let attributes = marker.output else { return }
        let cell = marker.cell.description
        context.report.outputBlocks[attributes.mode, default: 0] += 1
        if attributes.mode == .manual { return }
        let heading = "mode=\(attributes.mode.rawValue)"
        let result: RunResult
        do {
            result = try runner.run(
                binary, [marker.cell.name], timeout: attributes.timeout,
                mergeStderr: attributes.mergeStderr)
        } catch {
            context.fail(location, cell: cell, chapter: marker.cell.chapter, "cannot run the cell: \(error.message)")
            return
        }

        var problems: [String] = []
        if result.termination != .exited(0) { problems.append("the cell \(result.termination)") }
        if !attributes.mergeStderr && !result.stderr.isEmpty {
            problems.append("the cell wrote to stderr (declare stderr=merged if that is intended)")
        }
        if result.outputHeldOpen {
            problems.append(
                "a process that left the cell's process group kept its output open \(formatSeconds(runner.drainTimeout)) s after the cell ended"
            )
        }
        if result.truncated { problems.append("the cell printed more than \(runner.maxOutputBytes) bytes") }

        let actual = outputLines(result.stdout)
        var comparison: Comparison?
        if let block = marker.block {
            comparison = Compare.compare(
                expected: block.content, expectedPids: attributes.pids, actual: actual,
                actualPids: result.pids, mode: attributes.mode, tolerance: attributes.tolerance)
        }
        let matches = comparison?.matches == true
        if problems.isEmpty && matches { return }

        if problems.isEmpty && bless {
            let pids = Normalize.pidsOccurring(in: actual, known: result.pids)
            context.edits[loaded.path, default: []].append(outputEdit(marker, actual, pids: pids))
            context.report.rewrites.append(
                "\(marker.block == nil ? "inserted" : "rewrote") output block \(location) \(cell) (\(actual.count) line\(actual.count == 1 ? "" : "s"))"
            )
            return
        }

        var details: [String] = []
        if !matches {
            if marker.block == nil {
                problems.append("the marker is not followed by a fenced block")
                details.append("actual output:")
                details += actual.map { "  " + Diff.visible($0) }
            } else if let comparison {
                problems.append(
                    "the output differs from the book (\(heading)\(attributes.tolerance.map { ", tolerance=\(formatSeconds($0))%" } ?? ""))"
                )
                if let note = comparison.note { details.append("(\(note))") }
                details.append(comparison.diff)
            }
        }
        if !attributes.mergeStderr && !result.stderr.isEmpty {
            details.append("stderr:")
            details += outputLines(result.stderr).map { "  " + Diff.visible($0) }
        }
        if matches && result.termination != .exited(0) && !actual.isEmpty {
            details.append("output:")
            details += actual.map { "  " + Diff.visible($0) }
        }
        let runFailed = problems.contains { !$0.hasPrefix("the output differs") && !$0.hasPrefix("the marker is not") }
        let hint = runFailed ? "a failed run is never blessed: fix the cell, then check again" : blessHint
        context.fail(
            location, cell: cell, chapter: marker.cell.chapter, problems.joined(separator: "; "),
            details: details, hint: hint)
    }

    private func runOutput(_ result: RunResult, mergeStderr: Bool) -> [String] {
        var lines: [String] = []
        if !result.stdout.isEmpty {
            lines.append("stdout:")
            lines += outputLines(result.stdout).map { "  " + Diff.visible($0) }
        }
        if !result.stderr.isEmpty {
            lines.append("stderr:")
            lines += outputLines(result.stderr).map { "  " + Diff.visible($0) }
        }
        return lines
    }

    private func applyEdits(pages: [LoadedPage], _ context: Context) {
        for loaded in pages {
            guard let edits = context.edits[loaded.path], !edits.isEmpty else { continue }
            do {
                let current = try FileSystem.readText(loaded.path)
                guard current == loaded.text else {
                    context.fail(
                        display(loaded.path), "the page changed while the book was being checked; not rewritten")
                    continue
                }
                try FileSystem.writeTextAtomically(loaded.path, loaded.page.applying(edits))
            } catch {
                context.fail(display(loaded.path), "cannot rewrite the page: \(error.message)")
            }
        }
    }
}

/// `chapter3` for "chapter3", "3" or "03"; nil for anything else.
func normalizeChapterName(_ name: String) -> String? {
    if chapterNumber(name) != nil { return name }
    if !name.isEmpty, name.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(name) {
        return "chapter\(number)"
    }
    return nil
}

/// The chapter of a page file named `NN-name.md`.
func pageChapter(_ fileName: String) -> String? {
    let digits = fileName.prefix(while: { $0.isASCII && $0.isNumber })
    guard !digits.isEmpty, fileName.dropFirst(digits.count).first == "-", let number = Int(digits) else { return nil }
    return "chapter\(number)"
}

/// A program's output as lines; a final newline ends the last line rather than starting one.
func outputLines(_ text: String) -> [String] {
    if text.isEmpty { return [] }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if text.hasSuffix("\n") { lines.removeLast() }
    return lines
}

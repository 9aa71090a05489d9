import BookKit
import ExerciseHarness
import Foundation
import XCTest

/// The package root, from this file's path.
let root = BookPaths.packageRoot(from: #filePath)!
let track = Track(root: root)

/// Every shipped exercise file built once (one `swift build` of a scratch package), then each check
/// run: every starter fails for its reason, every reference solution passes, every wrong solution fails.
final class ExerciseTests: XCTestCase {
    func testTrackShape() {
        var chapters: [Int: [ExerciseInfo]] = [:]
        for e in catalog { chapters[e.chapter, default: []].append(e) }
        for chapter in 1...9 {
            let exercises = chapters[chapter] ?? []
            XCTAssertGreaterThanOrEqual(exercises.count, 3, "chapter \(chapter) needs at least 3 exercises")
            XCTAssertTrue(
                exercises.contains { !track.wrongSolutions($0).isEmpty },
                "chapter \(chapter) needs at least one plausible wrong solution (Wrong-*.swift)")
        }
        XCTAssertEqual(Set(catalog.map(\.id)).count, catalog.count, "exercise ids must be unique")
        for e in catalog {
            XCTAssertTrue(FileSystem.exists(track.starter(e)), "missing \(track.starter(e))")
            XCTAssertTrue(FileSystem.exists(track.solution(e)), "missing \(track.solution(e))")
            XCTAssertFalse(e.hints.isEmpty, "\(e.id) has no hints")
            let starter = (try? FileSystem.readText(track.starter(e))) ?? ""
            XCTAssertTrue(
                starter.contains("swift run exercises check \(e.id)"), "\(e.id)'s starter must say how to check it")
        }
    }

    func testStartersFailSolutionsPassWrongSolutionsFail() throws {
        let package = ScratchPackage(root: root, name: "proof")
        let broken = try brokenFile()
        let modules = track.variantModules()
        try package.writeDispatcher(modules, alone: [broken])
        let started = Date()
        guard case .built(let executable) = package.build(product: "exercise-variants", modules: modules) else {
            let outcome = package.build(product: "exercise-variants", modules: modules)
            if case .failed(let message) = outcome { XCTFail("the exercise files do not build:\n\(message)") }
            return
        }
        print("built \(modules.count) exercise files in \(Int(Date().timeIntervalSince(started))) s")

        // A file that does not compile breaks only its own product, and the message names it.
        if case .failed(let message) = package.build(product: broken.name, modules: [broken]) {
            XCTAssertTrue(message.contains(broken.source), "the compiler message should name the file:\n\(message)")
            XCTAssertTrue(message.contains("error:"), message)
        } else {
            XCTFail("the broken file compiled")
        }

        struct Job: Sendable {
            let exercise: ExerciseInfo
            let variant: String
            var shouldPass: Bool { variant == "Solution" }
        }
        var jobs: [Job] = []
        for e in catalog {
            for module in modules where module.key.hasPrefix(e.id + "/") {
                jobs.append(Job(exercise: e, variant: String(module.key.dropFirst(e.id.count + 1))))
            }
        }
        let allJobs = jobs
        let verdicts = runConcurrently(allJobs.count, width: 3) { index in
            let job = allJobs[index]
            return track.check(job.exercise, executable: executable, arguments: ["\(job.exercise.id)/\(job.variant)"])
        }
        for (job, verdict) in zip(jobs, verdicts) {
            let name = "\(job.exercise.id) \(job.variant)"
            if job.shouldPass {
                XCTAssertTrue(verdict.passed, "\(name) should pass:\n\(verdict.text)")
            } else {
                XCTAssertFalse(verdict.passed, "\(name) should fail:\n\(verdict.text)")
                XCTAssertFalse(verdict.text.contains("does not compile"), verdict.text)
            }
            if job.variant == "Starter" {
                XCTAssertTrue(
                    verdict.text.contains(job.exercise.starterFailure),
                    "\(name) should fail with \"\(job.exercise.starterFailure)\":\n\(verdict.text)")
            }
        }
        print("checked \(jobs.count) exercise files; \(Int(Date().timeIntervalSince(started))) s with the build")
    }

    /// A learner file with a type error, in a temporary directory.
    private func brokenFile() throws -> ExerciseModule {
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "exercise-broken")
        let path = directory + "/Broken.swift"
        try "import ExerciseKit\n\npublic func exercise() throws {\n    let n: Int = \"seven\"\n    print(n)\n}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        return ExerciseModule(name: "L_broken", source: path, key: "broken")
    }

    /// A clone in a folder named like a scratch package still gets a scratch package of another
    /// name: SwiftPM names packages after their folders, and two of one name are one package to it.
    func testScratchPackageIsNotNamedLikeTheBook() {
        for name in ["learner", "proof"] {
            for clone in ["/home/me/\(name)", "/home/me/scratch-\(name)", "/home/me/Scratch-\(name)"] {
                let scratch = ScratchPackage(root: clone, name: name)
                let folder = scratch.directory.split(separator: "/").last!.lowercased()
                XCTAssertNotEqual(folder, clone.split(separator: "/").last!.lowercased(), scratch.directory)
                XCTAssertTrue(scratch.directory.hasPrefix(clone + "/.build/exercises/"), scratch.directory)
            }
        }
    }

    /// Every chapter page (book/NN-*.md) carries its catalog section, word for word.
    func testChapterPagesCarryTheCatalogSection() throws {
        let pages = try chapterPages()
        XCTAssertEqual(
            Set(pages.keys), Set(catalog.map(\.chapter)), "every chapter page needs exercises, every exercise a page")
        for (chapter, page) in pages.sorted(by: { $0.key < $1.key }) {
            let text = try String(contentsOfFile: root + "/book/" + page, encoding: .utf8)
            if let problem = exercisesSectionProblem(page: text, chapter: chapter) {
                XCTFail("book/\(page): \(problem)")
            }
        }
    }

    /// The comparison fails for a page without the section, with one line changed, with a line
    /// missing, or with the section before the recap.
    func testSectionComparisonCatchesDifferences() throws {
        let page = try XCTUnwrap(chapterPages()[4])
        let text = try String(contentsOfFile: root + "/book/" + page, encoding: .utf8)
        XCTAssertNil(exercisesSectionProblem(page: text, chapter: 4))
        let section = exercisesSection(chapter: 4)
        XCTAssertTrue(text.contains(section))

        let missing = text.replacing(section, with: "")
        XCTAssertEqual(
            exercisesSectionProblem(page: missing, chapter: 4),
            "it has no \"## Exercises\" section (`swift run exercises catalog --markdown 4` prints it)")

        let lines = section.split(separator: "\n", omittingEmptySubsequences: false)
        let item = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("- **4.2") })
        var changed = lines
        changed[item] = changed[item].replacing("4.2", with: "4.3")
        let oneLine = text.replacing(section, with: changed.joined(separator: "\n"))
        let problem = try XCTUnwrap(exercisesSectionProblem(page: oneLine, chapter: 4))
        XCTAssertTrue(problem.contains("at its line \(item + 1)"), problem)

        var shorter = lines
        shorter.remove(at: item)
        XCTAssertNotNil(
            exercisesSectionProblem(page: text.replacing(section, with: shorter.joined(separator: "\n")), chapter: 4))

        let moved = missing.replacing("## Recap\n", with: section + "## Recap\n")
        XCTAssertEqual(
            exercisesSectionProblem(page: moved, chapter: 4),
            "its \"## Exercises\" section must come after \"## Recap\"")
    }

    /// Exercises/README.md's table lists every exercise of the catalog, in order, with its title and
    /// minutes, and the instructors' total is their sum.
    func testReadmeTableMatchesTheCatalog() throws {
        let text = try String(contentsOfFile: root + "/Exercises/README.md", encoding: .utf8)
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.dropFirst(2).first?.isNumber == true }
        let listed = rows.map { row in row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        XCTAssertEqual(listed.map { $0[0] }, catalog.map(\.id), "the README's table must list the catalog's ids")
        for (cells, e) in zip(listed, catalog) {
            XCTAssertEqual(cells[1], e.title, "README row \(e.id)")
            XCTAssertEqual(cells.last, String(e.minutes), "README row \(e.id): minutes")
        }
        let total = catalog.map(\.minutes).reduce(0, +)
        XCTAssertTrue(text.contains("sums to \(total) minutes"), "the instructors' guide should say \(total) minutes")
    }

    /// The chapter pages by chapter number: book/04-lock.md for chapter 4.
    private func chapterPages() throws -> [Int: String] {
        var pages: [Int: String] = [:]
        for name in try FileSystem.list(root + "/book") where name.hasSuffix(".md") {
            guard let dash = name.firstIndex(of: "-"), let chapter = Int(name[..<dash]) else { continue }
            pages[chapter] = name
        }
        return pages
    }

    func testCommandLineMistakesAreClear() throws {
        let binary = root + "/.build/debug/exercises"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "exercises not built")
        var runner = Runner()
        runner.drainTimeout = 1
        let unknown = try runner.run(binary, ["check", "4.9"], timeout: 60)
        XCTAssertEqual(unknown.termination, .exited(2))
        XCTAssertTrue(unknown.stderr.contains("no exercise \"4.9\""), unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("4.1"), unknown.stderr)

        let wrongChapter = try runner.run(binary, ["hint", "12"], timeout: 60)
        XCTAssertEqual(wrongChapter.termination, .exited(2))
        XCTAssertTrue(wrongChapter.stderr.contains("ids are chapter.number, from 1.1 to"), wrongChapter.stderr)

        // Run from another folder, the program finds the package that built it (`swift run
        // --package-path`); a copy of it outside any package says where to run it.
        let outside = try FileSystem.makeTemporaryDirectory(prefix: "exercise-outside")
        defer { FileSystem.removeTree(outside) }
        let fromElsewhere = try runner.run("/bin/sh", ["-c", "cd '\(outside)' && exec '\(binary)' list"], timeout: 60)
        XCTAssertEqual(fromElsewhere.termination, .exited(0), fromElsewhere.stderr)
        XCTAssertTrue(fromElsewhere.stderr.contains("the book's package at \(root)"), fromElsewhere.stderr)
        XCTAssertTrue(fromElsewhere.stdout.contains("of \(catalog.count) done"), fromElsewhere.stdout)
        let copy = outside + "/exercises"
        let copied = try runner.run("/bin/cp", [binary, copy], timeout: 60)
        XCTAssertEqual(copied.termination, .exited(0), copied.stderr)
        let away = try runner.run("/bin/sh", ["-c", "cd '\(outside)' && exec ./exercises check 1.1"], timeout: 60)
        XCTAssertEqual(away.termination, .exited(2))
        XCTAssertTrue(away.stderr.contains("inside the book's package"), away.stderr)

        let section = try runner.run(binary, ["catalog", "--markdown", "4"], timeout: 60)
        XCTAssertEqual(section.stdout, exercisesSection(chapter: 4))
    }
}

/// Runs `body(0..<count)` on `width` threads at once; the results in index order.
func runConcurrently<T: Sendable>(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    let box = ResultsBox<T>()
    let group = DispatchGroup()
    for _ in 0..<width {
        group.enter()
        Thread.detachNewThread {
            while true {
                let index: Int? = box.lock.withLock {
                    guard box.next < count else { return nil }
                    defer { box.next += 1 }
                    return box.next
                }
                guard let index else { break }
                let result = body(index)
                box.lock.withLock { box.results[index] = result }
            }
            group.leave()
        }
    }
    group.wait()
    return (0..<count).map { box.results[$0]! }
}

private final class ResultsBox<T>: @unchecked Sendable {
    let lock = NSLock()
    var results: [Int: T] = [:]
    var next = 0
}

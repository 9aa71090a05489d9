import BookKit
import Glibc

let usage = """
    usage: book check [chapterN ...] [--root DIR] [--bin DIR]
           book update [chapterN ...] [--root DIR] [--bin DIR]
           book docs [--output DIR] [--root DIR] [--bin DIR]
           book docs-coverage [--link] [--root DIR] [--bin DIR]
           book --help

      check    run every chapter cell and compare its output with the book; compare every
               code block with its source region; check the pages' conventions (the run line
               above each output block, the recap, the navigation line, every relative link).
               Changes nothing. Exits 1 on any failure or convention problem.
      update   the same, then rewrite the blocks that no longer match (bless). Blocks that
               still match are left byte-for-byte unchanged. Exits 1 if anything is left
               that it cannot fix (a failed run, a missing binary, a cell without a block).
      docs     the runtime's reference documentation: its symbol graph (from the built module)
               and Sources/Multiprocessing/Multiprocessing.docc through the toolchain's DocC,
               into .build/Multiprocessing.doccarchive. Exits 1 on any DocC warning, a public
               symbol without a doc comment, or a top-level symbol the landing page does not list.
      docs-coverage  the same check, listing every gap, and also the code spans in doc comments
               that name a public symbol without linking it. Exits 1 on any gap.
               --link turns each such span that names one symbol into a ``link`` (in place)
               and lists the spans that name overloads, for you to choose; then rebuild and
               run docs-coverage again.

      chapterN     limit to these chapters (chapter3 or 3); default: all
      --root DIR   the package root; default: the nearest directory upwards that holds Package.swift
      --bin DIR    where the built chapterN binaries (and modules) are; default: beside this book binary
      --output DIR where docs writes the archive; default: .build/Multiprocessing.doccarchive

    Build first: swift build && swift run book check   (or: make check, make docs, make docs-coverage)
    """

/// Parses the command line, runs the check or update, prints the report; returns the exit status.
nonisolated func runBook(_ arguments: [String]) -> Int32 {
    var action: String?
    var chapters: [String] = []
    var root: String?
    var bin: String?
    var output: String?
    var link = false
    var index = 0
    func fail(_ message: String) -> Int32 {
        let text = Array("book: \(message)\n\(usage)\n".utf8)
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        return 2
    }
    while index < arguments.count {
        let argument = arguments[index]
        switch argument {
        case "--link":
            link = true
        case "--help", "-h", "help":
            print(usage)
            return 0
        case "--root", "--bin", "--output":
            guard index + 1 < arguments.count else { return fail("\(argument) needs a directory") }
            switch argument {
            case "--root": root = arguments[index + 1]
            case "--bin": bin = arguments[index + 1]
            default: output = arguments[index + 1]
            }
            index += 1
        case "check" where action == nil, "update" where action == nil, "docs" where action == nil,
            "docs-coverage" where action == nil:
            action = argument
        default:
            if argument.hasPrefix("-") { return fail("unknown option \(argument)") }
            guard action != nil else { return fail("unknown command \(argument)") }
            guard action == "check" || action == "update" else { return fail("\(action!) takes no chapters") }
            chapters.append(argument)
        }
        index += 1
    }
    guard let action else { return fail("say check or update") }
    guard let root = root ?? BookPaths.packageRoot() else {
        return fail("no Package.swift in this directory or above; use --root")
    }
    guard let bin = bin ?? BookPaths.executableDirectory() else {
        return fail("cannot find this binary's directory; use --bin")
    }

    if action == "docs" || action == "docs-coverage" {
        return runDocs(
            root: BookPaths.absolute(root), bin: BookPaths.absolute(bin), output: output.map(BookPaths.absolute),
            coverage: action == "docs-coverage", link: link)
    }
    if output != nil || link { return fail("--output and --link are for docs") }

    let checker = BookChecker(root: BookPaths.absolute(root), binDir: BookPaths.absolute(bin))
    let report =
        action == "check"
        ? checker.check(chapters: chapters.isEmpty ? nil : chapters)
        : checker.update(chapters: chapters.isEmpty ? nil : chapters)
    print(report.rendered, terminator: "")
    // Convention problems fail a check; update reports them, but it exits 1 only for blocks it could not fix.
    return (action == "check" ? report.isClean : report.isSuccess) ? 0 : 1
}

/// `book docs` and `book docs-coverage`: the check of the runtime's reference documentation.
nonisolated func runDocs(root: String, bin: String, output: String?, coverage: Bool, link: Bool) -> Int32 {
    guard let tools = DocsTools.locate() else {
        print("book: docc and swift-symbolgraph-extract are not beside swift in PATH; they ship with the toolchain")
        return 1
    }
    let check = DocsCheck(root: root, buildDirectory: bin)
    let work = "\(root)/.build/docs"
    let archive = output ?? (coverage ? "\(work)/coverage.doccarchive" : "\(root)/.build/\(check.module).doccarchive")
    do {
        let result = try check.run(tools: tools, workDirectory: work, output: archive, strict: !coverage)
        if link && coverage {
            // DocC reads the comments from the built module: the new links count after a rebuild.
            let changed = try DocComments.link(result.unlinkedMentions, root: root)
            let overloads = result.unlinkedMentions.filter { $0.links.count > 1 }
            if !overloads.isEmpty {
                print("Naming overloads, left for you to choose (\(overloads.count)):")
                for mention in overloads { print("  \(mention)") }
            }
            print("Linked \(changed) code spans. Rebuild and check again: make docs-coverage")
            return 1
        }
        print(result.rendered(suggestions: coverage), terminator: "")
        let clean = result.isClean && (!coverage || result.unlinkedMentions.isEmpty)
        if clean && !coverage { print("Archive: \(archive)") }
        return clean ? 0 : 1
    } catch {
        print("book: \(error)")
        return 1
    }
}

exit(runBook(Array(CommandLine.arguments.dropFirst())))

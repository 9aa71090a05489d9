import BookKit
import Glibc

let usage = """
    usage: book check [chapterN ...] [--root DIR] [--bin DIR]
           book update [chapterN ...] [--root DIR] [--bin DIR]
           book --help

      check    run every chapter cell and compare its output with the book; compare every
               code block with its source region. Changes nothing. Exits 1 on any failure.
      update   the same, then rewrite the blocks that no longer match (bless). Blocks that
               still match are left byte-for-byte unchanged. Exits 1 if anything is left
               that it cannot fix (a failed run, a missing binary, a cell without a block).

      chapterN     limit to these chapters (chapter3 or 3); default: all
      --root DIR   the package root; default: the nearest directory upwards that holds Package.swift
      --bin DIR    where the built chapterN binaries are; default: beside this book binary

    Build first: swift build && swift run book check
    """

/// Parses the command line, runs the check or update, prints the report; returns the exit status.
nonisolated func runBook(_ arguments: [String]) -> Int32 {
    var action: String?
    var chapters: [String] = []
    var root: String?
    var bin: String?
    var index = 0
    func fail(_ message: String) -> Int32 {
        let text = Array("book: \(message)\n\(usage)\n".utf8)
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        return 2
    }
    while index < arguments.count {
        let argument = arguments[index]
        switch argument {
        case "--help", "-h", "help":
            print(usage)
            return 0
        case "--root", "--bin":
            guard index + 1 < arguments.count else { return fail("\(argument) needs a directory") }
            if argument == "--root" { root = arguments[index + 1] } else { bin = arguments[index + 1] }
            index += 1
        case "check" where action == nil, "update" where action == nil:
            action = argument
        default:
            if argument.hasPrefix("-") { return fail("unknown option \(argument)") }
            guard action != nil else { return fail("unknown command \(argument)") }
            chapters.append(argument)
        }
        index += 1
    }
    guard let action else { return fail("say check or update") }
    guard let root = root ?? BookPaths.packageRoot() else {
        return fail("no Package.swift in this directory or above; use --root")
    }
    guard let bin = bin ?? BookPaths.executableDirectory() else { return fail("cannot find this binary's directory; use --bin") }

    let checker = BookChecker(root: BookPaths.absolute(root), binDir: BookPaths.absolute(bin))
    let report = action == "check"
        ? checker.check(chapters: chapters.isEmpty ? nil : chapters)
        : checker.update(chapters: chapters.isEmpty ? nil : chapters)
    print(report.rendered, terminator: "")
    return report.isSuccess ? 0 : 1
}

exit(runBook(Array(CommandLine.arguments.dropFirst())))

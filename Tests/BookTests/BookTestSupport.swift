import Glibc
import XCTest

@testable import BookKit

// What the book tests share: a fake book whose chapter is a shell script, and process helpers.

// MARK: - Helpers

/// A temporary package root with one fake chapter: `Chapters/chapter9/x.swift`,
/// `book/09-fake.md`, and `bin/chapter9`, a shell script that lists and runs cells.
struct FakeBook {
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

func removeTree(_ path: String) {
    if FileSystem.isDirectory(path) {
        for name in (try? FileSystem.list(path)) ?? [] { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

func openDescriptors() throws -> [String] {
    try FileSystem.list("/proc/self/fd")
}

/// Whether a process is gone or a zombie (dead; its parent has not reaped it yet).
func isGoneOrZombie(_ pid: Int32) -> Bool {
    guard let stat = try? FileSystem.readText("/proc/\(pid)/stat") else { return true }
    guard let close = stat.lastIndex(of: ")") else { return true }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.first == "Z" || fields.first == "X"
}

func waitUntilGone(pid: Int32, seconds: Double = 20) -> Bool {
    poll(seconds) { isGoneOrZombie(pid) }
}

/// Whether no live (non-zombie) process has process group `group`, waiting up to `seconds`.
func waitUntilGone(group: Int32, seconds: Double = 20) -> Bool {
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

func poll(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    var waited = 0.0
    while waited < seconds {
        if condition() { return true }
        usleep(50_000)
        waited += 0.05
    }
    return condition()
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}

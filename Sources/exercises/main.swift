// `swift run exercises`: the practice track. See Exercises/README.md.

import BookKit
import ExerciseHarness
import Glibc

let usage = """
    usage: swift run exercises [command]
      (none)            the list with your progress, then a check of the first exercise not yet done
      list              the list only
      check ID          build your file for exercise ID and check it (e.g. check 4.1)
      watch [ID]        check again each time you save an exercise file (Ctrl-C stops)
      hint ID           one more hint for exercise ID
      reset ID          put the starter file back (your changes to it are lost)
      catalog --markdown N   the "Exercises" section of chapter N's page
    """

func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

func fail(_ message: String, status: Int32 = 2) -> Never {
    writeStandardError(message + "\n")
    exit(status)
}

/// Ctrl-C: the programs a check starts run in their own process groups (so a hang can be killed
/// whole), which the terminal's SIGINT does not reach. A thread takes the signal, kills those groups
/// and leaves, so nothing keeps running.
func installInterruptHandler() {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_BLOCK, &set, nil)
    var thread = pthread_t()
    pthread_create(
        &thread, nil,
        { _ in
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGINT)
            sigaddset(&set, SIGTERM)
            var signal: Int32 = 0
            sigwait(&set, &signal)
            let me = getpid()
            for name in (try? FileSystem.list("/proc")) ?? [] {
                guard let pid = Int32(name), let stat = try? FileSystem.readText("/proc/\(name)/stat"),
                    let close = stat.lastIndex(of: ")")
                else { continue }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                if fields.count > 1, Int32(fields[1]) == me {
                    kill(-pid, SIGKILL)  // a check's or build's whole group
                    kill(pid, SIGKILL)
                }
            }
            fflush(nil)
            writeStandardError("\nstopped; nothing left running.\n")
            _exit(130)
        }, nil)
}

func lookUp(_ id: String) -> ExerciseInfo {
    if let found = exercise(id) { return found }
    let chapter = id.split(separator: ".").first.map(String.init) ?? id
    let close = catalog.filter { $0.id.hasPrefix(chapter + ".") }.map(\.id)
    if close.isEmpty {
        fail(
            "no exercise \"\(id)\": ids are chapter.number, from \(catalog.first!.id) to \(catalog.last!.id) "
                + "(`swift run exercises list`)")
    }
    fail(
        "no exercise \"\(id)\". Exercises with ids close to it: \(close.joined(separator: ", ")) (`swift run exercises list`)"
    )
}

func printList(_ track: Track) {
    let progress = track.loadProgress()
    let done = catalog.filter { progress.passed.contains($0.id) }.count
    print("Exercises: \(done) of \(catalog.count) done")
    for e in catalog {
        let status = progress.passed.contains(e.id) ? "done" : "not yet"
        let title = e.title.padding(to: 44)
        print("  \(e.id.padding(to: 5)) \(title) chapter \(e.chapter)  \(status)")
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// Builds and checks exercise `e`; prints the verdict (and, on a pass, the reference solution and why).
@discardableResult
func check(_ track: Track, _ e: ExerciseInfo) -> Bool {
    print("== \(e.id) \(e.title): \(track.shown(track.workspaceFile(e)))")
    if !track.learnerPackage.hasBuiltBefore {
        print(
            "(the first check builds the exercises' own copy of the runtime once: about a minute; later checks take seconds)"
        )
    }
    switch track.buildLearner(e) {
    case .failed(let message):
        print("✗ \(track.shown(track.workspaceFile(e))) does not compile:\n\(message)")
        return false
    case .built(let executable):
        let verdict = track.check(e, executable: executable)
        print(verdict.text)
        guard verdict.passed else { return false }
        var progress = track.loadProgress()
        let first = !progress.passed.contains(e.id)
        progress.passed.insert(e.id)
        try? track.saveProgress(progress)
        if first { showSolution(track, e) }
        return true
    }
}

func showSolution(_ track: Track, _ e: ExerciseInfo) {
    let mine = (try? FileSystem.readText(track.workspaceFile(e))) ?? ""
    let reference = (try? FileSystem.readText(track.solution(e))) ?? ""
    // The header comments differ by design (the task, "a reference solution"): the code is compared.
    let a = withoutHeader(mine)
    let b = withoutHeader(reference)
    let diff = Diff.unified(
        expected: a, actual: b, same: { a[$0] == b[$1] },
        labels: ("yours: " + track.shown(track.workspaceFile(e)), "reference: " + track.shown(track.solution(e))))
    print(
        "\nYour code beside the reference solution (header comments left out; lines only in yours: -, "
            + "only in the reference: +):")
    print(diff.isEmpty ? "(the same)" : diff)
    print("\nWhy this works:\n" + e.why.indentedLines("  "))
}

/// The lines of `source` after its leading comment lines.
func withoutHeader(_ source: String) -> [String] {
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    return Array(lines.drop { $0.hasPrefix("//") })
}

extension String {
    func indentedLines(_ prefix: String) -> String {
        split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 }.joined(separator: "\n")
    }
}

func modificationTime(_ path: String) -> Int {
    var info = stat()
    guard stat(path, &info) == 0 else { return 0 }
    return Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)
}

func watch(_ track: Track, first: ExerciseInfo?) -> Never {
    print("watching Exercises/Workspace/: save an exercise file to check it (Ctrl-C stops)")
    var times = Dictionary(uniqueKeysWithValues: catalog.map { ($0.id, modificationTime(track.workspaceFile($0))) })
    if let first { check(track, first) }
    while true {
        usleep(300_000)
        for e in catalog {
            let now = modificationTime(track.workspaceFile(e))
            if now != times[e.id] {
                times[e.id] = now
                print("")
                check(track, e)
                print("\nwatching (Ctrl-C stops)")
            }
        }
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
let command = arguments.first ?? ""

if command == "help" || command == "--help" || command == "-h" {
    print(usage)
    exit(0)
}
if command == "catalog" {
    guard arguments.count == 3, arguments[1] == "--markdown", let chapter = Int(arguments[2]) else {
        fail("usage: swift run exercises catalog --markdown N")
    }
    print(exercisesSection(chapter: chapter), terminator: "")
    exit(0)
}

let track: Track
if let here = Track.find() {
    track = here
} else if let built = Track.findFromExecutable() {
    // Run from another folder (`swift run --package-path PATH exercises`): the package that built it.
    track = built
    writeStandardError(
        "(the book's package at \(built.root), which built this program; the paths below are relative to it)\n")
} else {
    fail(
        "swift run exercises: run it inside the book's package (or `swift run --package-path PATH exercises`): "
            + "no folder with Package.swift and Exercises/ was found from here upwards")
}
installInterruptHandler()
do {
    try track.ensureWorkspace()
} catch {
    fail("cannot prepare \(track.shown(track.workspace)): \(error)")
}

@MainActor func needsId() -> ExerciseInfo {
    guard arguments.count == 2 else { fail("usage: swift run exercises \(command) ID   (e.g. \(command) 4.1)") }
    return lookUp(arguments[1])
}

switch command {
case "":
    printList(track)
    let progress = track.loadProgress()
    guard let next = catalog.first(where: { !progress.passed.contains($0.id) }) else {
        print("\nEvery exercise is done. Well done!")
        exit(0)
    }
    print("\nNext: \(next.id) \(next.title) — \(next.summary).")
    print("Edit \(track.shown(track.workspaceFile(next))), then `swift run exercises check \(next.id)`.\n")
    exit(check(track, next) ? 0 : 1)
case "list":
    printList(track)
case "check":
    exit(check(track, needsId()) ? 0 : 1)
case "watch":
    let first: ExerciseInfo? = arguments.count > 1 ? lookUp(arguments[1]) : nil
    watch(track, first: first)
case "hint":
    let e = needsId()
    var progress = track.loadProgress()
    let shown = min((progress.hintsShown[e.id] ?? 0) + 1, e.hints.count)
    progress.hintsShown[e.id] = shown
    try? track.saveProgress(progress)
    print("\(e.id) \(e.title): \(e.summary)")
    for (index, hint) in e.hints.prefix(shown).enumerated() { print("hint \(index + 1) of \(e.hints.count): \(hint)") }
    if shown == e.hints.count {
        print("(that was the last hint; the reference solution is shown once your file passes)")
    }
case "reset":
    let e = needsId()
    do {
        try track.reset(e)
    } catch {
        fail("cannot reset \(e.id): \(error)")
    }
    print("\(track.shown(track.workspaceFile(e))) is the starter again.")
default:
    fail("unknown command \"\(command)\"\n" + usage)
}

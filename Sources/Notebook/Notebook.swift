// The chapter runner: a chapter is an ordered list of cells, each run in a fresh child process.

import BookProtocol
import Glibc
import Multiprocessing

/// One runnable step of a chapter: an id to run it by, a title for its header, and its body.
public struct Cell: Sendable {
    /// Kebab-case, unique in its chapter: `swift run chapter3 <id>` runs this cell alone.
    public let id: String
    public let title: String
    public let body: @Sendable () throws -> Void
    /// Names for the objects of the cell's figure (`--figure`), by the figure's own name for them:
    /// `["Semaphore A": "empty"]` draws and describes `Semaphore A` as `empty`.
    public let figureNames: [String: String]

    public init(
        _ id: String, _ title: String, _ body: @escaping @Sendable () throws -> Void,
        figureNames: [String: String] = [:]
    ) {
        self.id = id
        self.title = title
        self.body = body
        self.figureNames = figureNames
    }
}

/// A chapter of the book: its executable runs these cells.
public struct Chapter: Sendable {
    /// The executable's name, e.g. `chapter3`.
    public let name: String
    public let title: String
    public let cells: [Cell]

    public init(_ name: String, _ title: String, cells: [Cell]) {
        self.name = name
        self.title = title
        self.cells = cells
    }
}

/// Runs a chapter from the command line and exits:
/// no argument runs every cell in order; `<cell-id>` runs one; `--list` lists them; `--help` helps.
/// `--timeline` (with a cell id or without) traces each cell and draws its timeline after its output.
/// Each cell runs in a fresh child process, so exit-time behaviour is real per cell.
/// The exit status is 1 when a cell failed, 2 on a usage error.
public func runChapter(_ chapter: Chapter, arguments: [String] = CommandLine.arguments) -> Never {
    startPidLog()
    if let problem = TimeScale.problem {
        ProcessIO.writeAll("\(chapter.name): \(problem)\n", to: 2)
        exitProcess(2)
    }
    // Line-buffered even into a pipe, so that output appears in the order processes print it,
    // in a terminal and in the book's checker alike.
    ProcessIO.setStandardOutputBuffering(.line)
    var options = Array(arguments.dropFirst())
    let timeline = options.contains("--timeline")
    options.removeAll { $0 == "--timeline" }
    var figure: String?
    if let flag = options.firstIndex(of: "--figure") {
        guard flag + 1 < options.count else {
            writeError("\(chapter.name): --figure needs a file to write\n")
            exitProcess(2)
        }
        figure = options[flag + 1]
        options.removeSubrange(flag...(flag + 1))
    }
    switch options.first {
    case "--help", "-h":
        printUsage(chapter)
        exitProcess(0)
    case "--list":
        let width = chapter.cells.map(\.id.count).max() ?? 0
        for cell in chapter.cells {
            print(cell.id + String(repeating: " ", count: width - cell.id.count + 2) + cell.title)
        }
        exitProcess(0)
    case nil:
        var failures = 0
        for cell in chapter.cells where !run(cell, of: chapter, timeline: timeline) { failures += 1 }
        exitProcess(failures == 0 ? 0 : 1)
    case let id?:
        guard options.count == 1, let cell = chapter.cells.first(where: { $0.id == id }) else {
            writeError(
                "\(chapter.name): no cell named '\(options.joined(separator: " "))'. Cells: "
                    + chapter.cells.map(\.id).joined(separator: ", ") + "\n")
            exitProcess(2)
        }
        if let figure { exitProcess(drawFigure(cell, of: chapter, to: figure) ? 0 : 1) }
        exitProcess(run(cell, of: chapter, timeline: timeline) ? 0 : 1)
    }
}

private func printUsage(_ chapter: Chapter) {
    print(
        """
        \(chapter.name): \(chapter.title)

        usage: swift run \(chapter.name)            run every cell, in order
               swift run \(chapter.name) <cell-id>  run one cell
               swift run \(chapter.name) --list     list the cells
               swift run \(chapter.name) <cell-id> --timeline
                                          run one cell traced, then draw who waited,
                                          held a lock or worked when (one row per process)

        Each cell runs in a fresh child process. Set \(TimeScale.variable)=0.1 to make the
        demo's pauses ten times shorter.
        """)
}

/// Runs one cell in a fresh child process and reports whether it succeeded. With `timeline`, the
/// run is traced and its timeline drawn after the cell's output.
private func run(_ cell: Cell, of chapter: Chapter, timeline: Bool = false) -> Bool {
    guard timeline else { return run(cell, of: chapter) }
    guard let (succeeded, trace) = runTraced(cell, of: chapter) else { return false }
    if let trace {
        ProcessIO.flushStdio()
        print("── timeline of \(cell.id) " + String(repeating: "─", count: max(3, 64 - cell.id.count)))
        print(drawTimeline(trace.withoutRunner()), terminator: "")
    }
    return succeeded
}

/// Runs one cell traced and writes its figure (an SVG for the book) to `path`; true when the cell
/// succeeded and the file was written.
private func drawFigure(_ cell: Cell, of chapter: Chapter, to path: String) -> Bool {
    guard let (succeeded, collected) = runTraced(cell, of: chapter), let trace = collected else { return false }
    let svg = drawFigureSVG(
        trace.withoutRunner(), cell: "\(chapter.name)/\(cell.id)", title: "\(chapter.name) \(cell.id): \(cell.title)",
        timeScale: TimeScale.factor, names: cell.figureNames)
    guard writeTextFile(path, svg) else {
        writeError("\(chapter.name): cannot write \(path)\n")
        return false
    }
    return succeeded
}

/// Runs one cell traced: whether it succeeded and its merged trace (nil when the trace could not be
/// collected); nil, with a message, when tracing could not start.
private func runTraced(_ cell: Cell, of chapter: Chapter) -> (succeeded: Bool, trace: TraceTimeline?)? {
    do {
        // Never written: the records are drawn, not saved.
        try Tracing.start(writingTo: "/dev/null")
    } catch {
        writeError("\(chapter.name): cannot trace cell \(cell.id): \(error)\n")
        return nil
    }
    let succeeded = run(cell, of: chapter)
    return (succeeded, Tracing.stopAndCollect()?.1)
}

/// Runs one cell in a fresh child process and reports whether it succeeded.
private func run(_ cell: Cell, of chapter: Chapter) -> Bool {
    if ProcessIO.environment(BookEnvironment.bare) != "1" {
        print(
            "── \(cell.id): \(cell.title) "
                + String(repeating: "─", count: max(3, 60 - cell.id.count - cell.title.count)))
    }
    let pid: pid_t
    do {
        switch try forkProcess() {
        case .child:
            do {
                try cell.body()
            } catch {
                fflush(nil)
                writeError("cell \(cell.id) failed: \(error)\n")
                exitProcess(1)
            }
            exitProcess(0)
        case .parent(let childPid):
            pid = childPid
        }
        let status = try waitForProcess(pid)
        if status != .exited(0) {
            writeError("\(chapter.name): cell \(cell.id) \(status)\n")
            return false
        }
        return true
    } catch {
        writeError("\(chapter.name): cannot run cell \(cell.id): \(error)\n")
        return false
    }
}

private func writeError(_ text: String) {
    ProcessIO.flushStdio()
    ProcessIO.writeAll(text, to: 2)
}

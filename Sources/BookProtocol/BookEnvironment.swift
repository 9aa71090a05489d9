// What the book's checker (BookKit) and the chapter runner (Notebook) agree on: the environment
// variables the checker sets for a chapter run, and the pid log's line format. One owner, so the
// two sides cannot drift apart.

import Glibc

/// The environment a chapter runs in under `swift run book check`, and the pid log it writes.
public enum BookEnvironment {
    /// A file to which every process of the run appends its pid, one per line; the checker reads
    /// it to replace pids in the output with stable placeholders.
    public static let pidLog = "MP_PID_LOG"
    /// A positive factor for the demos' pauses (`demoSleep`); the checker runs at 0.05.
    public static let timeScale = "MP_TIME_SCALE"
    /// "1": run cells without their header lines (the book shows each cell's output alone).
    public static let bare = "MP_NOTEBOOK_BARE"

    /// Appends `pid` as one line to the log at `path`. O_APPEND keeps lines from many processes
    /// whole; failures are dropped (a missing pid only weakens the output's normalisation).
    /// Cost: an open, a write and a close. Plain code: safe in a single-threaded forked child.
    public static func appendPid(_ pid: Int32, toLog path: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        var text = String(pid)
        text.append("\n")
        text.withUTF8 { bytes in _ = write(fd, bytes.baseAddress, bytes.count) }
        close(fd)
    }

    /// The pids in a pid log's text (its reader owns the file), each once, in the order first
    /// written. Anything that is not a positive number is skipped (a torn or foreign line).
    public static func pids(inLog text: String) -> [Int32] {
        var seen = Set<Int32>()
        var pids: [Int32] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == " " || $0 == "\t" || $0 == "\r" }) {
            if let pid = Int32(line), pid > 0, seen.insert(pid).inserted { pids.append(pid) }
        }
        return pids
    }
}

// `swift run chapterN CELL --figure PATH`: the cell's traced run drawn as an SVG picture for the book,
// with, inside it (<metadata>), the description of the run that `book check` compares: only what the
// cell's synchronisation makes certain, never the times.

import Glibc
import Multiprocessing

/// The description of a traced run that stays the same from run to run, in sections of lines:
/// `lanes` (each process by name and how it ended), `events` (each process's own main-thread events
/// in program order; waits and joins left out: whether a thread had to wait depends on timing), `holders`
/// (who held each lock or semaphore, in order) and `lifetimes` (for each pair of child processes,
/// whether one ended before the other started), `most` (for each semaphore whose every release gave
/// back a unit taken before, the most units taken at once) and `pool` (what became of a pool worker
/// that was killed). Pool workers and the zygote show as lanes only (which worker runs which task is
/// the scheduler's choice). Objects are renamed `Lock A`, `Lock B`, ... in the order this description
/// first names them (semaphores first, by who takes them), or by the names the cell gives
/// (`Cell(figureNames:)`); pids are left out.
/// The version of the way figures are drawn (FigureSVG); stored in each figure's description.
let figureDrawingVersion = 3

struct FigureDescription {
    var sections: [(name: String, lines: [String])] = []
    /// The figure's name of each object it names, by trace label (`Semaphore 2` → `empty`).
    var objectNames: [String: String] = [:]
    /// The semaphores drawn as a row of units taken (`unitsTaken` is not nil), by trace label, in name order.
    var countedSemaphores: [(label: String, name: String)] = []

    /// The text stored in the SVG: `[section]` headers, then its lines.
    var text: String {
        sections.map { section in
            (["[\(section.name)]"] + section.lines).joined(separator: "\n")
        }.joined(separator: "\n") + "\n"
    }
}

/// One process of the figure, with the key that names it in the description (`worker 1`, and
/// `worker 1 #2` for a second process of the same name, in start order).
struct FigureLane {
    let lane: TraceLane
    let key: String
    var isPoolProcess: Bool { lane.name.hasPrefix("PoolWorker") || lane.name == "PoolZygote" }
}

/// The lanes of `timeline` in start order, keyed.
func figureLanes(_ timeline: TraceTimeline) -> [FigureLane] {
    var seen: [String: Int] = [:]
    return timeline.lanes.sorted { ($0.start, $0.pid) < ($1.start, $1.pid) }.map { lane in
        let count = seen[lane.name, default: 0] + 1
        seen[lane.name] = count
        return FigureLane(lane: lane, key: count == 1 ? lane.name : "\(lane.name) #\(count)")
    }
}

/// `Lock 2` → (`Lock`, `2`); nil for labels that name no numbered object.
func objectLabel(_ label: String) -> (kind: String, number: String)? {
    let parts = label.split(separator: " ")
    guard parts.count == 2, Int(parts[1]) != nil,
        ["Lock", "RLock", "Semaphore", "Event", "Condition", "Barrier", "Queue", "Pipe"].contains(String(parts[0]))
    else { return nil }
    return (String(parts[0]), String(parts[1]))
}

/// The figure's names for the objects of `timeline`: `Lock 2` → `Lock A`, or the cell's own name for
/// it (`figureNames`: `["Semaphore A": "empty"]`). Semaphores are named first, ordered by the
/// processes that take their units, so that two semaphores taken by different processes keep their
/// letters from run to run; the others in the order `describe` meets them.
struct FigureNames {
    private var names: [String: String] = [:]
    private var counts: [String: Int] = [:]
    private let given: [String: String]

    init(_ timeline: TraceTimeline, lanes: [FigureLane], given: [String: String]) {
        self.given = given
        let keys = Dictionary(lanes.map { ($0.lane.pid, $0.key) }, uniquingKeysWith: { first, _ in first })
        var takers: [String: Set<String>] = [:]
        var order: [String] = []
        for span in timeline.spans where span.kind == .holding && objectLabel(span.label)?.kind == "Semaphore" {
            if takers[span.label] == nil { order.append(span.label) }
            takers[span.label, default: []].insert(keys[span.pid] ?? "")
        }
        let sorted = order.enumerated().sorted {
            (takers[$0.element]!.sorted().joined(separator: ","), $0.offset)
                < (takers[$1.element]!.sorted().joined(separator: ","), $1.offset)
        }
        for (_, label) in sorted { _ = self[label] }
    }

    /// The name of `label`, given on first use; labels that name no object stay as they are.
    subscript(label: String) -> String {
        mutating get {
            guard let (kind, _) = objectLabel(label) else { return label }
            if let name = names[label] { return name }
            let count = counts[kind, default: 0]
            counts[kind] = count + 1
            let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
            let name = "\(kind) " + (count < letters.count ? String(letters[count]) : "\(count + 1)")
            names[label] = given[name] ?? name
            return names[label]!
        }
    }

    /// Every name given so far, by trace label.
    var all: [String: String] { names }

    /// The semaphores named so far, by trace label.
    var semaphores: [(label: String, name: String)] {
        names.filter { objectLabel($0.key)?.kind == "Semaphore" }.map { ($0.key, $0.value) }.sorted {
            $0.name < $1.name
        }
    }
}

/// For a semaphore whose every release gave back a unit taken before (so that its holds are exact),
/// how many units were taken at each change: the times and counts of a step chart. Nil for a
/// semaphore released before it was taken (one made with 0 that counts items): its holds pair each
/// take with a later, unrelated release.
func unitsTaken(_ timeline: TraceTimeline, label: String) -> [(time: Int64, count: Int)]? {
    guard !timeline.moments.contains(where: { $0.label == "released " + label }) else { return nil }
    var changes: [(time: Int64, delta: Int)] = []
    for span in timeline.spans where span.kind == .holding && span.label == label {
        changes.append((span.start, 1))
        changes.append((span.end, -1))
    }
    guard !changes.isEmpty else { return nil }
    // A unit given back and taken at the same instant was never taken twice: the release first.
    changes.sort { ($0.time, $0.delta) < ($1.time, $1.delta) }
    var steps: [(time: Int64, count: Int)] = []
    var count = 0
    for change in changes {
        count += change.delta
        if let last = steps.last, last.time == change.time {
            steps[steps.count - 1].count = count
        } else {
            steps.append((change.time, count))
        }
    }
    return steps
}

func describe(_ timeline: TraceTimeline, names given: [String: String] = [:]) -> FigureDescription {
    let lanes = figureLanes(timeline)
    let keys = Dictionary(lanes.map { ($0.lane.pid, $0.key) }, uniquingKeysWith: { first, _ in first })
    let byKey = lanes.sorted { $0.key < $1.key }
    var description = FigureDescription()
    // The drawing's version: raise it whenever FigureSVG draws differently, so that `book check`
    // flags every figure drawn the old way and `book update` redraws it.
    description.sections.append(("drawing", ["version \(figureDrawingVersion)"]))
    // By name, not key: which of two same-named processes started first may vary. A bare fork has
    // its parent's name, or none when it was killed before it recorded one (then the lane has its
    // pid): both are `a fork of` the cell's process.
    let cellProcess = lanes.first?.lane.name ?? ""
    description.sections.append(
        (
            "lanes",
            lanes.enumerated().map { index, lane in
                let name =
                    index > 0 && (lane.lane.name.hasPrefix("pid ") || lane.lane.name == cellProcess)
                    ? "a fork of \(cellProcess)" : lane.lane.name
                return "\(name): \(lane.lane.ending ?? "still running")"
            }.sorted()
        ))

    var names = FigureNames(timeline, lanes: lanes, given: given)
    func rename(_ label: String) -> String { names[label] }
    // A process's own main thread, in time order.
    var events: [pid_t: [(time: Int64, text: String)]] = [:]
    for span in timeline.spans where span.kind == .holding && span.tid == span.pid {
        events[span.pid, default: []].append((span.start, "acquire \(span.label)"))
        events[span.pid, default: []].append((span.end, "release \(span.label)"))
    }
    // Not `joined`: a join records only when it had to wait, which depends on timing.
    let kept = ["set ", "put ", "got ", "sent ", "received "]
    for moment in timeline.moments where moment.tid == moment.pid {
        guard kept.contains(where: moment.label.hasPrefix) else { continue }
        events[moment.pid, default: []].append((moment.time, moment.label))
    }
    var eventLines: [String] = []
    for lane in byKey where !lane.isPoolProcess {
        let sequence = (events[lane.lane.pid] ?? []).enumerated().sorted {
            ($0.element.time, $0.offset) < ($1.element.time, $1.offset)
        }.map { item -> String in
            let words = item.element.text.split(separator: " ", maxSplits: 1).map(String.init)
            return words.count == 2 ? words[0] + " " + rename(words[1]) : item.element.text
        }
        eventLines.append("\(lane.key): " + (sequence.isEmpty ? "-" : sequence.joined(separator: ", ")))
    }
    description.sections.append(("events", eventLines))

    var holders: [String: [String]] = [:]
    for span in timeline.spans.sorted(by: { ($0.start, $0.pid) < ($1.start, $1.pid) }) where span.kind == .holding {
        guard let key = keys[span.pid] else { continue }
        holders[rename(span.label), default: []].append(key)
    }
    description.sections.append(
        ("holders", holders.keys.sorted().map { "\($0): " + holders[$0]!.joined(separator: ", ") }))

    var lifetimes: [String] = []
    let children = byKey.filter { $0.key != "MainProcess" && !$0.isPoolProcess }
    for (index, first) in children.enumerated() {
        for second in children[(index + 1)...] {
            if first.lane.end <= second.lane.start {
                lifetimes.append("\(first.key) ends before \(second.key) starts")
            } else if second.lane.end <= first.lane.start {
                lifetimes.append("\(second.key) ends before \(first.key) starts")
            } else {
                lifetimes.append("\(first.key) and \(second.key) overlap")
            }
        }
    }
    description.sections.append(("lifetimes", lifetimes))

    // Certain where the cell makes it so: a semaphore of 2 never has 3 units taken, and the cell
    // waits until 2 are.
    var most: [String] = []
    for (label, name) in names.semaphores {
        guard let steps = unitsTaken(timeline, label: label) else { continue }
        description.countedSemaphores.append((label, name))
        most.append("\(name): at most \(steps.map(\.count).max() ?? 0) taken at once")
    }
    description.sections.append(("most", most))

    // A killed worker: whether its task failed with it, and whether the pool went on without it.
    var pool: [String] = []
    for lane in byKey where lane.lane.name.hasPrefix("PoolWorker") && lane.lane.ending?.hasPrefix("killed") == true {
        let died = lane.lane.end
        let tasks = timeline.spans.filter { $0.kind == .working && $0.pid == lane.lane.pid }
        pool.append(
            "\(lane.key): "
                + (tasks.contains { $0.failed } ? "killed during a task, which failed" : "killed between tasks"))
        let replacements = lanes.filter { $0.lane.name.hasPrefix("PoolWorker") && $0.lane.start > died }
        pool.append("\(lane.key): \(replacements.isEmpty ? "not replaced" : "replaced by a worker started after it")")
        let later = timeline.spans.filter { $0.kind == .working && !$0.failed && $0.start > died }
        pool.append("\(lane.key): tasks finished after it died: \(later.isEmpty ? "none" : "some")")
    }
    description.sections.append(("pool", pool))
    description.objectNames = names.all
    return description
}

/// Writes `text` to `path` (created or replaced); false on any error.
func writeTextFile(_ path: String, _ text: String) -> Bool {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return false }
        offset += written
    }
    return true
}

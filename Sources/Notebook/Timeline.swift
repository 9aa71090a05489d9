// `swift run chapterN CELL --timeline`: the cell's traced run drawn as text, one row per process,
// time across, in 80 columns.

import Glibc
import Multiprocessing

/// What a column of a row shows, most telling first when a column holds several.
private enum Mark: Character {
    case holding = "#"
    case waiting = "~"
    case working = "="
    case running = "-"
    case absent = " "
}

extension TraceTimeline {
    /// The timeline without the chapter runner's own lane: the runner started the trace (so it has a
    /// lane) but only forks the cell and waits; the drawings show the cell's processes.
    func withoutRunner() -> TraceTimeline {
        let runner = getpid()
        var cell = self
        cell.lanes.removeAll { $0.pid == runner }
        cell.spans.removeAll { $0.pid == runner }
        cell.moments.removeAll { $0.pid == runner }
        return cell
    }
}

/// The text timeline of `timeline`: a scale line, one row per process (`name pid |marks|`), and a
/// legend, each at most `width` columns.
func drawTimeline(_ timeline: TraceTimeline, width: Int = 80) -> String {
    let lanes = timeline.lanes
    guard !lanes.isEmpty else { return "(no process recorded an event)\n" }
    // A long name is cut, never the pid: the row must say which process it is.
    let labels = lanes.map { lane -> String in
        let pid = " \(lane.pid)"
        return String(lane.name.prefix(max(1, 24 - pid.count))) + pid
    }
    let labelWidth = min(max(labels.map(\.count).max() ?? 0, 8), 24)
    let columns = width - labelWidth - 3
    let origin = lanes.map(\.start).min() ?? 0
    let end = max(lanes.map(\.end).max() ?? 0, origin + 1)
    let step = Double(end - origin) / Double(columns)

    var text = pad("", labelWidth) + " " + scale(columns: columns, duration: end - origin) + "\n"
    for (lane, label) in zip(lanes, labels) {
        // Per column, how long the lane spent in each state.
        var spent = Array(repeating: [Mark: Double](), count: columns)
        func add(_ mark: Mark, from start: Int64, to stop: Int64) {
            guard stop > start || mark != .running else { return }
            let first = Double(start - origin) / step
            let last = Double(max(stop, start + 1) - origin) / step
            var column = max(0, Int(first))
            while column < columns && Double(column) < last {
                let overlap = min(last, Double(column + 1)) - max(first, Double(column))
                spent[column][mark, default: 0] += max(overlap, 1e-6)
                column += 1
            }
        }
        add(.running, from: lane.start, to: lane.end)
        for span in timeline.spans where span.pid == lane.pid {
            switch span.kind {
            case .holding: add(.holding, from: span.start, to: span.end)
            case .waiting: add(.waiting, from: span.start, to: span.end)
            case .working: add(.working, from: span.start, to: span.end)
            }
        }
        let marks = spent.map { states -> Character in
            let telling = states.filter { $0.key != .running }
            // Longest first; a tie goes to the more telling state (a wait inside a pool task shows).
            if let best = telling.max(by: { ($0.value, rank($0.key)) < ($1.value, rank($1.key)) }) {
                return best.key.rawValue
            }
            return states[.running] != nil ? Mark.running.rawValue : Mark.absent.rawValue
        }
        text += pad(String(label.prefix(labelWidth)), labelWidth) + " |" + String(marks) + "|\n"
    }
    text += "- running  = pool task  ~ waiting  # holding a lock or semaphore\n"
    // On a line of its own: beside the legend it would pass 80 columns.
    if timeline.dropped > 0 { text += "(\(timeline.dropped) events lost: the trace region was full)\n" }
    return text
}

/// Ties between states go to the most telling one.
private func rank(_ mark: Mark) -> Int {
    switch mark {
    case .holding: return 3
    case .waiting: return 2
    case .working: return 1
    default: return 0
    }
}

/// `0 ms` at the left, the run's length at the right, under the rows' first and last columns.
private func scale(columns: Int, duration: Int64) -> String {
    let left = " 0"
    let right = milliseconds(duration)
    return left + String(repeating: " ", count: max(1, columns + 1 - left.count - right.count)) + right
}

private func milliseconds(_ nanoseconds: Int64) -> String {
    let tenths = (nanoseconds + 50_000) / 100_000
    return "\(tenths / 10).\(tenths % 10) ms"
}

private func pad(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(0, width - text.count))
}

// The SVG of a figure: one lane per process, time across. Self-contained (no script, no external
// font), on its own light card so that it reads the same in a light and a dark page, in the
// Okabe–Ito colours, each state also told by a pattern or a mark, with a legend, a title and a
// description for screen readers.

import Multiprocessing

private enum Palette {
    static let card = "#ffffff"
    static let ink = "#1a1a1a"
    static let grid = "#d9d9d9"
    static let life = "#bdbdbd"
    static let working = "#0072B2"  // blue
    static let holding = "#D55E00"  // vermillion
    static let waiting = "#E69F00"  // orange
    static let give = "#009E73"  // bluish green: set, put, sent
    static let take = "#56B4E9"  // sky blue: got, received, joined
    static let killed = "#CC79A7"  // reddish purple
}

/// The figure of `timeline` for cell `cell` (`chapter4/clean`): the SVG text, its metadata holding
/// `description`.
func drawFigureSVG(
    _ timeline: TraceTimeline, cell: String, title: String, timeScale: Double, names: [String: String] = [:]
) -> String {
    let lanes = figureLanes(timeline)
    let description = describe(timeline, names: names)
    // A process is named in a trace with its pid (`producer (4242)`): left out, it differs in every run.
    func name(_ label: String) -> String {
        if let named = description.objectNames[label] { return named }
        if let open = label.lastIndex(of: "("), label.hasSuffix(")"), open > label.startIndex,
            label[label.index(after: open)..<label.index(before: label.endIndex)].allSatisfy(\.isNumber)
        {
            return String(label[..<open].dropLast())
        }
        return label
    }
    func isSemaphore(_ label: String) -> Bool { objectLabel(label)?.kind == "Semaphore" }
    let counted = description.countedSemaphores
    let width = 880.0
    let left = 170.0
    let right = width - 24
    let top = 58.0
    let row = 38.0
    let origin = lanes.map(\.lane.start).min() ?? 0
    let end = max(lanes.map(\.lane.end).max() ?? 1, origin + 1)
    let span = Double(end - origin) / 1e6  // ms
    func x(_ time: Int64) -> Double { left + (right - left) * (Double(time - origin) / 1e6) / span }
    let legendY = top + row * Double(lanes.count + counted.count) + 30
    let height = legendY + 52

    let scaleNote =
        timeScale == 1 ? "" : " (run with MP_TIME_SCALE=\(format(timeScale)): the cell's pauses are shortened)"
    let summary =
        "Timeline of `swift run \(cell.replacingSlash())`: "
        + lanes.map { "\($0.key) (\($0.lane.ending ?? "still running"))" }.joined(separator: ", ")
        + ". Time runs left to right over \(format(span)) ms\(scaleNote)."

    var svg: [String] = []
    svg.append(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(format(width))\" height=\"\(format(height))\" "
            + "viewBox=\"0 0 \(format(width)) \(format(height))\" role=\"img\" aria-labelledby=\"figure-title figure-desc\" "
            + "font-family=\"sans-serif\" font-size=\"13\">")
    svg.append("<title id=\"figure-title\">\(escape(title))</title>")
    svg.append("<desc id=\"figure-desc\">\(escape(summary))</desc>")
    svg.append("<metadata id=\"figure-description\">\n\(escape(description.text))</metadata>")
    svg.append("<defs>")
    svg.append(
        "<pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
            + "<rect width=\"6\" height=\"6\" fill=\"\(Palette.holding)\"/>"
            + "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#ffffff\" stroke-width=\"2\"/></pattern>")
    svg.append(
        "<pattern id=\"dots\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\">"
            + "<rect width=\"5\" height=\"5\" fill=\"#ffffff\"/><circle cx=\"2.5\" cy=\"2.5\" r=\"1.3\" fill=\"\(Palette.waiting)\"/></pattern>"
    )
    svg.append("</defs>")
    svg.append(
        "<rect x=\"0.5\" y=\"0.5\" width=\"\(format(width - 1))\" height=\"\(format(height - 1))\" rx=\"6\" "
            + "fill=\"\(Palette.card)\" stroke=\"\(Palette.grid)\"/>")
    svg.append(
        "<text x=\"\(format(left))\" y=\"22\" fill=\"\(Palette.ink)\" font-weight=\"bold\">\(escape(title))</text>")

    // Time axis: ticks at a round step.
    let step = niceStep(span / 5)
    var tick = 0.0
    while tick <= span + step * 0.01 {
        let tx = left + (right - left) * tick / span
        svg.append(
            "<line x1=\"\(format(tx))\" y1=\"\(format(top - 10))\" x2=\"\(format(tx))\" y2=\"\(format(legendY - 18))\" "
                + "stroke=\"\(Palette.grid)\" stroke-width=\"1\"/>")
        svg.append(
            "<text x=\"\(format(tx))\" y=\"\(format(top - 14))\" fill=\"\(Palette.ink)\" font-size=\"11\" "
                + "text-anchor=\"middle\">\(format(tick)) ms</text>")
        tick += step
    }

    for (index, lane) in lanes.enumerated() {
        let y = top + row * Double(index)
        let middle = y + row / 2
        svg.append(
            "<text x=\"\(format(left - 10))\" y=\"\(format(middle + 4))\" fill=\"\(Palette.ink)\" "
                + "text-anchor=\"end\" font-family=\"monospace\">\(escape(lane.key))</text>")
        // The process's life: a thin bar, and a mark where it ended.
        svg.append(
            "<rect x=\"\(format(x(lane.lane.start)))\" y=\"\(format(middle - 2))\" "
                + "width=\"\(format(max(1, x(lane.lane.end) - x(lane.lane.start))))\" height=\"4\" fill=\"\(Palette.life)\"/>"
        )
        for span in timeline.spans where span.pid == lane.lane.pid {
            let x0 = x(span.start)
            let w = max(2, x(span.end) - x0)
            switch span.kind {
            case .working:
                svg.append(
                    "<rect x=\"\(format(x0))\" y=\"\(format(y + 7))\" width=\"\(format(w))\" height=\"\(format(row - 14))\" "
                        + "fill=\"\(span.failed ? Palette.killed : Palette.working)\" stroke=\"\(Palette.ink)\" stroke-width=\"0.5\">"
                        + "<title>\(escape(span.label))\(span.failed ? " (failed)" : "")</title></rect>")
                if w > 44 {
                    svg.append(
                        "<text x=\"\(format(x0 + 4))\" y=\"\(format(middle + 4))\" fill=\"#ffffff\" font-size=\"11\">"
                            + "\(escape(span.label))</text>")
                }
            case .holding where isSemaphore(span.label):
                // A unit taken: a dot where it was taken (another process may give it back, so no
                // bar); how many are taken at once is the semaphore's own row below.
                svg.append(
                    "<circle cx=\"\(format(x0))\" cy=\"\(format(y + 8))\" r=\"3.5\" fill=\"\(Palette.holding)\" "
                        + "stroke=\"\(Palette.ink)\" stroke-width=\"0.5\"><title>takes a unit of \(escape(name(span.label)))</title></circle>"
                )
            case .holding:
                svg.append(
                    "<rect x=\"\(format(x0))\" y=\"\(format(y + 9))\" width=\"\(format(w))\" height=\"\(format(row - 18))\" "
                        + "fill=\"url(#hatch)\" stroke=\"\(Palette.holding)\" stroke-width=\"1\">"
                        + "<title>holds \(escape(name(span.label)))</title></rect>")
            case .waiting:
                svg.append(
                    "<rect x=\"\(format(x0))\" y=\"\(format(y + 11))\" width=\"\(format(w))\" height=\"\(format(row - 22))\" "
                        + "fill=\"url(#dots)\" stroke=\"\(Palette.waiting)\" stroke-width=\"1\" stroke-dasharray=\"3 2\">"
                        + "<title>waits for \(escape(name(span.label)))</title></rect>")
                // What it waits for, written on the wait when there is room: a printed figure has no tooltips.
                let long = "waits for \(name(span.label))"
                let text = w > Double(long.count) * 5.6 + 6 ? long : name(span.label)
                if w > Double(text.count) * 5.6 + 6 {
                    svg.append(
                        "<text x=\"\(format(x0 + w / 2))\" y=\"\(format(y + row / 2 + 4))\" fill=\"\(Palette.ink)\" "
                            + "font-size=\"11\" text-anchor=\"middle\" stroke=\"\(Palette.card)\" stroke-width=\"3\" "
                            + "paint-order=\"stroke\">\(escape(text))</text>")
                }
            }
        }
        for moment in timeline.moments where moment.pid == lane.lane.pid {
            let mx = x(moment.time)
            if moment.label.hasPrefix("set ") || moment.label.hasPrefix("put ") || moment.label.hasPrefix("sent ") {
                svg.append(
                    "<path d=\"M\(format(mx - 4)) \(format(y + 6)) L\(format(mx + 4)) \(format(y + 6)) L\(format(mx)) \(format(y + 13)) Z\" "
                        + "fill=\"\(Palette.give)\" stroke=\"\(Palette.ink)\" stroke-width=\"0.5\"><title>\(escape(moment.label))</title></path>"
                )
            } else if moment.label.hasPrefix("got ") || moment.label.hasPrefix("received ")
                || moment.label.hasPrefix("joined ")
            {
                svg.append(
                    "<path d=\"M\(format(mx - 4)) \(format(y + row - 6)) L\(format(mx + 4)) \(format(y + row - 6)) L\(format(mx)) \(format(y + row - 13)) Z\" "
                        + "fill=\"\(Palette.take)\" stroke=\"\(Palette.ink)\" stroke-width=\"0.5\"><title>\(escape(moment.label))</title></path>"
                )
            }
        }
        let ex = x(lane.lane.end)
        if let ending = lane.lane.ending, ending.hasPrefix("killed") {
            svg.append(
                "<path d=\"M\(format(ex - 6)) \(format(middle - 6)) L\(format(ex + 6)) \(format(middle + 6)) "
                    + "M\(format(ex - 6)) \(format(middle + 6)) L\(format(ex + 6)) \(format(middle - 6))\" "
                    + "stroke=\"\(Palette.killed)\" stroke-width=\"3\"><title>\(escape(ending))</title></path>")
        } else {
            svg.append(
                "<line x1=\"\(format(ex))\" y1=\"\(format(middle - 7))\" x2=\"\(format(ex))\" y2=\"\(format(middle + 7))\" "
                    + "stroke=\"\(Palette.ink)\" stroke-width=\"2\"><title>\(escape(lane.lane.ending ?? "still running"))</title></line>"
            )
        }
    }

    // A row per semaphore whose holds are exact: how many of its units are taken, over time.
    for (index, semaphore) in counted.enumerated() {
        let y = top + row * Double(lanes.count + index)
        let steps = unitsTaken(timeline, label: semaphore.label) ?? []
        let most = max(1, steps.map(\.count).max() ?? 1)
        let bottom = y + row - 5
        let unit = (row - 16) / Double(most)
        svg.append(
            "<text x=\"\(format(left - 10))\" y=\"\(format(y + row / 2 + 4))\" fill=\"\(Palette.ink)\" "
                + "text-anchor=\"end\" font-family=\"monospace\">\(escape(semaphore.name)) taken</text>")
        svg.append(
            "<line x1=\"\(format(left))\" y1=\"\(format(bottom))\" x2=\"\(format(right))\" y2=\"\(format(bottom))\" "
                + "stroke=\"\(Palette.life)\" stroke-width=\"1\"/>")
        for (step, next) in zip(steps, steps.dropFirst()) where step.count > 0 {
            let x0 = x(step.time)
            let w = max(1, x(next.time) - x0)
            let h = unit * Double(step.count)
            svg.append(
                "<rect x=\"\(format(x0))\" y=\"\(format(bottom - h))\" width=\"\(format(w))\" height=\"\(format(h))\" "
                    + "fill=\"url(#hatch)\" stroke=\"\(Palette.holding)\" stroke-width=\"0.5\">"
                    + "<title>\(step.count) of \(escape(semaphore.name)) taken</title></rect>")
            if w >= 12 {
                svg.append(
                    "<text x=\"\(format(x0 + w / 2))\" y=\"\(format(bottom - h - 2))\" fill=\"\(Palette.ink)\" "
                        + "font-size=\"10\" text-anchor=\"middle\">\(step.count)</text>")
            }
        }
    }

    // Legend: every state by colour and by pattern or shape.
    let items: [(String, String)] = [
        ("<rect x=\"0\" y=\"-3\" width=\"22\" height=\"4\" fill=\"\(Palette.life)\"/>", "process alive"),
        (
            "<rect x=\"0\" y=\"-8\" width=\"22\" height=\"14\" fill=\"\(Palette.working)\" stroke=\"\(Palette.ink)\" stroke-width=\"0.5\"/>",
            "pool task"
        ),
        (
            "<rect x=\"0\" y=\"-7\" width=\"22\" height=\"12\" fill=\"url(#hatch)\" stroke=\"\(Palette.holding)\"/>",
            "holds a lock; units taken"
        ),
        (
            "<circle cx=\"11\" cy=\"-1\" r=\"3.5\" fill=\"\(Palette.holding)\" stroke=\"\(Palette.ink)\" stroke-width=\"0.5\"/>",
            "takes a unit"
        ),
        (
            "<rect x=\"0\" y=\"-6\" width=\"22\" height=\"10\" fill=\"url(#dots)\" stroke=\"\(Palette.waiting)\" stroke-dasharray=\"3 2\"/>",
            "waits"
        ),
        (
            "<path d=\"M7 -6 L15 -6 L11 1 Z\" fill=\"\(Palette.give)\" stroke=\"\(Palette.ink)\" stroke-width=\"0.5\"/>",
            "set, put, sent"
        ),
        (
            "<path d=\"M7 4 L15 4 L11 -3 Z\" fill=\"\(Palette.take)\" stroke=\"\(Palette.ink)\" stroke-width=\"0.5\"/>",
            "got, received, joined"
        ),
        ("<line x1=\"11\" y1=\"-7\" x2=\"11\" y2=\"7\" stroke=\"\(Palette.ink)\" stroke-width=\"2\"/>", "ended"),
        ("<path d=\"M5 -6 L17 6 M5 6 L17 -6\" stroke=\"\(Palette.killed)\" stroke-width=\"3\"/>", "killed"),
        (
            "<rect x=\"0\" y=\"-8\" width=\"22\" height=\"14\" fill=\"\(Palette.killed)\" stroke=\"\(Palette.ink)\" stroke-width=\"0.5\"/>",
            "task that failed"
        ),
    ]
    var lx = 16.0
    var ly = legendY
    for (mark, text) in items {
        let itemWidth = 34 + Double(text.count) * 7
        if lx + itemWidth > width - 10 {
            lx = 16
            ly += 22
        }
        svg.append(
            "<g transform=\"translate(\(format(lx)) \(format(ly)))\">\(mark)"
                + "<text x=\"28\" y=\"4\" fill=\"\(Palette.ink)\" font-size=\"12\">\(escape(text))</text></g>")
        lx += itemWidth
    }
    svg.append("</svg>")
    return svg.joined(separator: "\n") + "\n"
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
private func niceStep(_ raw: Double) -> Double {
    guard raw > 0 else { return 1 }
    var power = 1e-3
    while power * 10 <= raw { power *= 10 }
    for factor in [1.0, 2, 5, 10] where power * factor >= raw { return power * factor }
    return power * 10
}

/// At most one decimal, without a trailing `.0`.
private func format(_ value: Double) -> String {
    let tenths = (value * 10).rounded()
    let whole = Int(tenths) / 10
    let fraction = abs(Int(tenths)) % 10
    return fraction == 0 ? "\(whole)" : "\(tenths < 0 && whole == 0 ? "-" : "")\(whole).\(fraction)"
}

func escape(_ text: String) -> String {
    var result = ""
    for character in text {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        default: result.append(character)
        }
    }
    return result
}

extension String {
    fileprivate func replacingSlash() -> String {
        String(map { $0 == "/" ? " " : $0 })
    }
}

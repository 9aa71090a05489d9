// Figures: SVG pictures of a cell's traced run (`chapterN CELL --figure PATH` draws one). A page
// embeds one with a marker and the image on the next non-blank line:
//
//     <!-- figure: chapter4/clean compare=lanes,events,holders -->
//     ![What to look at](figures/chapter4-clean.svg)
//
// The SVG carries, in its <metadata>, a description of the run in `[section]`s of lines (lanes,
// events, holders, lifetimes, most: the most units of each semaphore taken at once, pool: what
// became of a killed pool worker; and `drawing`, the renderer's version): `book check` runs the cell traced
// again and compares the sections that `compare=` names (default: lanes,events) and the drawing's
// version, never the times; `book update` replaces the file
// only when one of them changed.

/// A `<!-- figure: … -->` marker and the image line after it.
public struct FigureMarker: Sendable, Equatable {
    /// The cell whose run the figure draws.
    public let cell: CellRef
    /// Index (0-based) of the marker line in `Page.lines`.
    public let line: Int
    /// The image's path as written, relative to the page (`figures/chapter4-clean.svg`).
    public let image: String
    /// The image's alt text: the caption a reader sees.
    public let caption: String
    /// The description sections compared with a fresh run.
    public let compared: [String]
}

/// The sections a figure may compare.
let figureSections = ["lanes", "events", "holders", "lifetimes", "most", "pool"]

/// Parses a figure marker at `index`: nil when the line is no figure marker, a failure when it is a
/// malformed one or the image line is missing.
func parseFigureMarker(_ lines: [String], at index: Int) -> Result<FigureMarker, MarkerSyntaxError>? {
    let text = trimmed(lines[index])
    guard text.hasPrefix("<!--"), text.hasSuffix("-->"), text.count >= 7 else { return nil }
    let inner = trimmed(text.dropFirst(4).dropLast(3))
    guard inner.hasPrefix("figure:") else { return nil }
    let words = inner.dropFirst("figure:".count).split(separator: " ").map(String.init)
    guard let first = words.first, let cell = CellRef(parsing: first) else {
        return .failure(MarkerSyntaxError("figure marker needs a cell id like chapter4/clean"))
    }
    var compared = ["lanes", "events"]
    for word in words.dropFirst() {
        guard word.hasPrefix("compare=") else {
            return .failure(MarkerSyntaxError("unknown figure attribute '\(word)' (compare=)"))
        }
        compared = word.dropFirst("compare=".count).split(separator: ",").map(String.init)
        if let unknown = compared.first(where: { !figureSections.contains($0) }) {
            return .failure(
                MarkerSyntaxError(
                    "compare= names '\(unknown)' (it takes \(figureSections.joined(separator: ", ")))"))
        }
    }
    var next = index + 1
    while next < lines.count && trimmed(lines[next]).isEmpty { next += 1 }
    guard next < lines.count, let image = parseImageLine(lines[next]), image.path.hasSuffix(".svg") else {
        return .failure(
            MarkerSyntaxError(
                "a figure marker must be followed by its image: ![caption](figures/\(cell.chapter)-\(cell.name).svg)"))
    }
    return .success(
        FigureMarker(cell: cell, line: index, image: image.path, caption: image.alt, compared: compared))
}

/// `![alt](path)` alone on a line.
private func parseImageLine(_ line: String) -> (alt: String, path: String)? {
    let text = trimmed(line)
    guard text.hasPrefix("!["), text.hasSuffix(")"), let middle = text.firstRange(of: "](") else { return nil }
    let alt = String(text[text.index(text.startIndex, offsetBy: 2)..<middle.lowerBound])
    let path = String(text[middle.upperBound..<text.index(before: text.endIndex)])
    guard !alt.isEmpty, !path.isEmpty, !path.contains(" ") else { return nil }
    return (alt, path)
}

/// The description stored in an SVG's `<metadata>`, by section; nil when there is none.
public func figureDescription(ofSVG text: String) -> [String: [String]]? {
    guard let open = text.firstRange(of: "<metadata id=\"figure-description\">"),
        let close = text[open.upperBound...].firstRange(of: "</metadata>")
    else { return nil }
    var sections: [String: [String]] = [:]
    var current: String?
    for raw in text[open.upperBound..<close.lowerBound].split(separator: "\n") {
        let line = unescapeXML(String(raw))
        if line.hasPrefix("[") && line.hasSuffix("]") {
            current = String(line.dropFirst().dropLast())
            sections[current!] = []
        } else if let current {
            sections[current]!.append(line)
        }
    }
    return sections
}

/// The lines compared for `sections` of a description, with their headers.
/// The `drawing` section (the renderer's version) is always compared: a figure drawn by an older
/// renderer is out of date even when the run it shows is the same.
func comparedLines(_ description: [String: [String]], _ sections: [String]) -> [String] {
    (["drawing"] + sections).flatMap { ["[\($0)]"] + (description[$0] ?? ["(missing)"]) }
}

private func unescapeXML(_ text: String) -> String {
    text.replacingAll("&lt;", "<").replacingAll("&gt;", ">").replacingAll("&quot;", "\"").replacingAll("&amp;", "&")
}

extension String {
    fileprivate func replacingAll(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let found = rest.firstRange(of: target) {
            result += rest[..<found.lowerBound] + replacement
            rest = rest[found.upperBound...]
        }
        return result + rest
    }
}

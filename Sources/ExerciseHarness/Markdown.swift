/// The "## Exercises" section of chapter `chapter`'s page, ending with a blank line: one item per
/// exercise (id, title, one line, the command). The book's pages carry it word for word (tested).
public func exercisesSection(chapter: Int) -> String {
    var text = "## Exercises\n\n"
    text += "Practise this chapter with `swift run exercises` ([how the track works](../Exercises/README.md)):\n\n"
    for e in catalog where e.chapter == chapter {
        let bug = "find the bug: "
        let (kind, line) =
            e.summary.hasPrefix(bug) ? (" (find the bug)", String(e.summary.dropFirst(bug.count))) : ("", e.summary)
        text += "- **\(e.id) \(e.title)**\(kind): \(line). `swift run exercises check \(e.id)`\n"
    }
    return text + "\n"
}

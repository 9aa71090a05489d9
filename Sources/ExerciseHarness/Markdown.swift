/// The "## Exercises" section of chapter `chapter`'s page, ending with a blank line: one item per
/// exercise (id, title, one line, the command). The book's pages carry it word for word (tested).
public func exercisesSection(chapter: Int) -> String {
    var text = "## Exercises\n\n"
    text += "Practise this chapter with `swift run exercises` ([how the track works](../Exercises/README.md)):\n\n"
    for e in catalog where e.chapter == chapter {
        text += "- **\(e.id) \(e.title)**: \(e.summary). `swift run exercises check \(e.id)`\n"
    }
    return text + "\n"
}

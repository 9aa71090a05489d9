import Notebook

runChapter(
    Chapter(
        "chapter2", "Process: a function in a child process",
        cells: [
            Cell("sleeper", "A process runs a closure", sleeper),
            Cell("subclass", "Subclassing ChildProcess and overriding run()", subclass),
            Cell("active-children", "Several processes at once", activeChildrenDemo),
            Cell("exit-codes", "How a process ended: its exit code", exitCodes),
            Cell("names", "Names and currentProcess()", names),
            Cell("misuse", "Mistakes are errors, not hangs", misuse),
            Cell("close", "Closing a process object", closeDemo),
        ]))

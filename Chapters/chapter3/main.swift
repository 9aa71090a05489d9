import Notebook

runChapter(
    Chapter(
        "chapter3", "Daemons and join: who waits for whom",
        cells: [
            Cell("program-waits", "Without daemon, the program waits for its children", programWaits),
            Cell("daemon", "Daemonic children die with the parent", daemonDies),
            Cell("daemon-killed-parent", "Even when the parent is killed", daemonKilledParent),
            Cell("parent-process", "A child can ask about its parent", parentProcessDemo),
            Cell("exit-handlers", "Exit handlers run at a normal exit", exitHandlers),
            Cell("join", "join waits for the child to end", joinWaits),
            Cell("join-timeout", "join(timeout:) gives up waiting, not the child", joinTimeout),
            Cell("join-in-loop", "join inside the start loop runs one at a time", joinInLoop),
            Cell("wait-for-any", "Waiting for several children at once", waitForAnyDemo),
        ]))

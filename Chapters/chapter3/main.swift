import Notebook

runChapter(
    Chapter(
        "chapter3", "Daemons and join: who waits for whom",
        cells: [
            programWaitsCell, daemonDiesCell, daemonKilledParentCell, daemonChildrenCell, parentProcessDemoCell,
            exitHandlersCell, joinWaitsCell, joinTimeoutCell, joinInLoopCell, waitForAnyDemoCell,
        ]))

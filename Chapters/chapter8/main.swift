import Notebook

runChapter(
    Chapter(
        "chapter8", "Pool: a team of worker processes",
        cells: [
            applyAsyncRoundsCell, applyOneByOneCell, asyncResultsCell, callbacksCell, mapListCell, imapOrdersCell,
            throwingTaskCell, whereItFailedCell, workerKilledCell, freshWorkersCell, terminateQueuedCell,
            closeThenJoinCell,
        ]))

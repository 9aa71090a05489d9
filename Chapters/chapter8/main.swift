import Notebook

runChapter(
    Chapter(
        "chapter8", "Pool: a team of worker processes",
        cells: [
            Cell("apply-async", "applyAsync: ten tasks, three workers, three at a time", applyAsyncRounds),
            Cell("apply", "apply: one task after another", applyOneByOne),
            Cell("async-results", "Collecting AsyncResults", asyncResults),
            Cell("callbacks", "Callbacks: told when a result arrives", callbacks),
            Cell("map", "map: a whole list, results in order", mapList),
            Cell("imap", "imap keeps input order, imapUnordered does not wait", imapOrders),
            Cell("throwing-task", "A task that throws", throwingTask),
            Cell("where-it-failed", "Where a task failed: the worker, its pid, the error", whereItFailed),
            Cell("worker-killed", "A worker killed in the middle of a task", workerKilled),
            Cell("fresh-workers", "initializer and maxTasksPerChild", freshWorkers),
            Cell("terminate", "terminate with 10,000 tasks queued", terminateQueued),
            Cell("close-join", "close, then join", closeThenJoin),
        ]))

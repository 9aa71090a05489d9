import Notebook

runChapter(
    Chapter(
        "chapter6", "Queue: passing items between processes",
        cells: [
            Cell("plain-array", "A plain array is not shared", plainArray),
            Cell("hello", "Hello World through a queue", hello),
            Cell("producer-consumer", "A producer and a consumer", producerConsumer),
            Cell("blocking", "put waits while the queue is full", blocking),
            Cell("timeouts", "Timeouts: the full and empty errors", timeouts),
            Cell("nowait", "tryPut and tryGet never wait", nowait),
            Cell("many-producers", "Several producers, one consumer", manyProducers),
            Cell("sentinel", "Shutting down with a sentinel", sentinel),
            Cell("joinable", "JoinableQueue: taskDone and join", joinable),
            Cell("exit-before-drain", "A producer may exit before anyone reads", exitBeforeDrain),
            Cell("mistakes", "Mistakes are errors, at once", mistakes),
        ]))

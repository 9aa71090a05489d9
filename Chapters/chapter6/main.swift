import Notebook

runChapter(
    Chapter(
        "chapter6", "Queue: passing items between processes",
        cells: [
            plainArrayCell, helloCell, producerConsumerCell, blockingCell, timeoutsCell, nowaitCell, manyProducersCell,
            sentinelCell, joinableCell, exitBeforeDrainCell, mistakesCell,
        ]))

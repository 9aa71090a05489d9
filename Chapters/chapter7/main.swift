import Notebook

runChapter(
    Chapter(
        "chapter7", "Pipe: messages between two processes",
        cells: [
            Cell("hello", "Hello World through a pipe", hello),
            Cell("conversation", "A conversation: both ends send and receive", conversation),
            Cell("one-way", "A one-way pipe", oneWay),
            Cell("end-of-file", "End of file: every writer has closed", endOfFile),
            Cell("forgot-to-close", "Forgetting to close the unused end", forgotToClose),
            Cell("poll", "poll: is there a message?", pollDemo),
            Cell("ping-pong", "A counter bounced between two processes", pingPong),
            Cell("buffers", "Raw bytes: part of a buffer, into a buffer", buffers),
            Cell("errors", "Mistakes and failures are errors you can read", errors),
        ]))

"""The Python twin of the Swift benchmarks: the same workloads, with multiprocessing (fork).

usage: python3 twin.py WORKLOAD OPERATIONS REPETITIONS
Prints the median of REPETITIONS runs after one warm-up, in the Swift side's unit, on the last line.
"""
import multiprocessing as mp
import statistics
import sys
import time

ctx = mp.get_context("fork")


def _nothing():
    pass


def process_start_join(count):
    start = time.perf_counter()
    for _ in range(count):
        p = ctx.Process(target=_nothing)
        p.start()
        p.join()
        assert p.exitcode == 0, p.exitcode
    return time.perf_counter() - start


def _produce(q, start, end):
    for value in range(start, end):
        q.put(value)


def _queue_throughput(producers, count):
    """The twin of queueThroughput in QueueWorkloads.swift: producers put 0..<count in contiguous runs,
    the parent gets them all and checks the sum; starting and joining the producers is timed too."""
    q = ctx.Queue()
    share = count // producers
    start = time.perf_counter()
    children = [
        ctx.Process(target=_produce, args=(q, i * share, count if i == producers - 1 else (i + 1) * share))
        for i in range(producers)
    ]
    for child in children:
        child.start()
    total = 0
    for _ in range(count):
        total += q.get()
    for child in children:
        child.join()
    elapsed = time.perf_counter() - start
    assert all(child.exitcode == 0 for child in children)
    assert total == count * (count - 1) // 2, total
    return elapsed


def queue_1to1(count):
    return _queue_throughput(1, count)


def queue_4to1(count):
    return _queue_throughput(4, count)


# name -> (function, unit): unit "us"/"ms"/"ns" per operation, or "per_s".
WORKLOADS = {
    "process_start_join": (process_start_join, "us"),
    "queue_1to1": (queue_1to1, "per_s"),
    "queue_4to1": (queue_4to1, "per_s"),
}

SCALE = {"us": 1e6, "ms": 1e3, "ns": 1e9}


def main():
    name, operations, repetitions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    function, unit = WORKLOADS[name]
    function(operations)  # warm-up
    figures = []
    for _ in range(repetitions):
        elapsed = function(operations)
        figures.append(operations / elapsed if unit == "per_s" else elapsed / operations * SCALE[unit])
    print(statistics.median(figures))


if __name__ == "__main__":
    main()

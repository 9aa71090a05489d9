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


# name -> (function, unit): unit "us"/"ms"/"ns" per operation, or "per_s".
WORKLOADS = {
    "process_start_join": (process_start_join, "us"),
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

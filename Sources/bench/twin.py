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


def _square(x):
    return x * x


def _warm(pool):
    pool.map(_square, range(4 * pool._processes))


def pool_map(count):
    with ctx.Pool() as pool:
        _warm(pool)
        start = time.perf_counter()
        result = pool.map(_square, range(count))
        elapsed = time.perf_counter() - start
    assert len(result) == count and result[-1] == (count - 1) ** 2
    return elapsed


def pool_map_chunk1(count):
    with ctx.Pool() as pool:
        _warm(pool)
        start = time.perf_counter()
        result = pool.map(_square, range(count), chunksize=1)
        elapsed = time.perf_counter() - start
    assert len(result) == count and result[-1] == (count - 1) ** 2
    return elapsed


def pool_apply_async(count):
    with ctx.Pool() as pool:
        _warm(pool)
        start = time.perf_counter()
        results = [pool.apply_async(_square, (i,)) for i in range(count)]
        total = sum(r.get() for r in results)
        elapsed = time.perf_counter() - start
    assert total == sum(i * i for i in range(count))
    return elapsed


def pool_startup(count):
    start = time.perf_counter()
    for _ in range(count):
        pool = ctx.Pool()
        assert pool.apply(_square, (3,)) == 9
        pool.close()
        pool.join()
    return time.perf_counter() - start


# name -> (function, unit): unit "us"/"ms"/"ns" per operation, or "per_s".
WORKLOADS = {
    "process_start_join": (process_start_join, "us"),
    "pool_map": (pool_map, "per_s"),
    "pool_map_chunk1": (pool_map_chunk1, "per_s"),
    "pool_apply_async": (pool_apply_async, "per_s"),
    "pool_startup": (pool_startup, "ms"),
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

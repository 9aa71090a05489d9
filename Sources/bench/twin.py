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


def _pingpong_child(receive, send, count):
    for _ in range(count):
        send.send(receive.recv() + 1)


def _pingpong(duplex, count):
    if duplex:
        a, b = ctx.Pipe(duplex=True)
        parent, child_side = (a, a), (b, b)
    else:
        to_child_r, to_child_w = ctx.Pipe(duplex=False)
        to_parent_r, to_parent_w = ctx.Pipe(duplex=False)
        parent, child_side = (to_parent_r, to_child_w), (to_child_r, to_parent_w)
    p = ctx.Process(target=_pingpong_child, args=(child_side[0], child_side[1], count))
    p.start()
    start = time.perf_counter()
    for value in range(count):
        parent[1].send(value)
        assert parent[0].recv() == value + 1
    elapsed = time.perf_counter() - start
    p.join()
    assert p.exitcode == 0
    return elapsed


def pipe_pingpong_duplex(count):
    return _pingpong(True, count)


def pipe_pingpong_simplex(count):
    return _pingpong(False, count)


def _one_way_child(receiver, count):
    for _ in range(count):
        if len(receiver.recv()) != 1024:
            sys.exit(3)


def _one_way(duplex, count):
    receiver, sender = ctx.Pipe(duplex=duplex)
    message = bytes([7]) * 1024
    p = ctx.Process(target=_one_way_child, args=(receiver, count))
    p.start()
    start = time.perf_counter()
    for _ in range(count):
        sender.send(message)
    p.join()
    elapsed = time.perf_counter() - start
    assert p.exitcode == 0
    return elapsed


def pipe_1k_duplex(count):
    return _one_way(True, count)


def pipe_1k_simplex(count):
    return _one_way(False, count)


class Item:
    def __init__(self, id, name, score):
        self.id, self.name, self.score = id, name, score


def codec_roundtrip(count):
    import pickle
    item = Item(42, "widget", 0.5)
    start = time.perf_counter()
    for index in range(count):
        item.id = index
        last = pickle.loads(pickle.dumps(item))
    elapsed = time.perf_counter() - start
    assert last.id == count - 1 and last.name == "widget"
    return elapsed


def _locked_increments(lock, counter, count):
    for _ in range(count):
        lock.acquire()
        counter.value += 1
        lock.release()


def lock_contended(count):
    counter = ctx.Value("q", 0, lock=False)
    lock = ctx.Lock()
    workers = [ctx.Process(target=_locked_increments, args=(lock, counter, count // 2)) for _ in range(2)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    assert counter.value == count // 2 * 2, counter.value
    return elapsed


def _semaphore_produce(buffer, empty, full, count, slots):
    for value in range(count):
        empty.acquire()
        buffer[value % slots] = value
        full.release()


def semaphore_handoff(count):
    slots = 16
    buffer = ctx.Array("q", slots, lock=False)
    empty, full = ctx.Semaphore(slots), ctx.Semaphore(0)
    producer = ctx.Process(target=_semaphore_produce, args=(buffer, empty, full, count, slots))
    start = time.perf_counter()
    producer.start()
    in_order = True
    for expected in range(count):
        full.acquire()
        if buffer[expected % slots] != expected:
            in_order = False
        empty.release()
    producer.join()
    elapsed = time.perf_counter() - start
    assert in_order and producer.exitcode == 0
    return elapsed


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


def _stamp(message, index):
    """Stamps message `index` at both ends, in place, as BigMessageWorkloads.swift does."""
    message[0], message[-1] = index & 0xFF, (index >> 8) & 0xFF


def _stamped(size, index):
    message = bytearray(b"\x07") * size
    _stamp(message, index)
    return bytes(message)


def _is_stamped(message, size, index):
    return len(message) == size and message[0] == index & 0xFF and message[-1] == (index >> 8) & 0xFF


def _big_one_way_child(receiver, size, count):
    for index in range(count):
        if not _is_stamped(receiver.recv(), size, index):
            sys.exit(3)


def _big_one_way(duplex, size, count):
    receiver, sender = ctx.Pipe(duplex=duplex)
    p = ctx.Process(target=_big_one_way_child, args=(receiver, size, count))
    p.start()
    message = bytearray(b"\x07") * size
    start = time.perf_counter()
    for index in range(count):
        _stamp(message, index)
        sender.send(message)
    p.join()
    elapsed = time.perf_counter() - start
    assert p.exitcode == 0
    return elapsed


def _big_produce(q, size, count):
    message = bytearray(b"\x07") * size
    for index in range(count):
        _stamp(message, index)
        q.put(bytes(message))  # a copy: the feeder thread pickles it later


def _big_queue(size, count):
    q = ctx.Queue()
    start = time.perf_counter()
    producer = ctx.Process(target=_big_produce, args=(q, size, count))
    producer.start()
    in_order = all(_is_stamped(q.get(), size, index) for index in range(count))
    producer.join()
    elapsed = time.perf_counter() - start
    assert in_order and producer.exitcode == 0
    return elapsed


def _echo(item):
    return item


def pool_map_64k(count):
    items = [_stamped(64 << 10, index) for index in range(count)]
    with ctx.Pool() as pool:
        pool.map(_echo, [b"\x01"] * (4 * pool._processes))
        start = time.perf_counter()
        result = pool.map(_echo, items)
        elapsed = time.perf_counter() - start
    assert len(result) == count and all(_is_stamped(r, 64 << 10, i) for i, r in enumerate(result))
    return elapsed


def _burn_one_millisecond(item):
    """1 ms of this thread's CPU time, as burnOneMillisecond in PoolWorkloads.swift."""
    until = time.thread_time_ns() + 1_000_000
    x = item
    while time.thread_time_ns() < until:
        for _ in range(100):
            x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    return item * item


def _pool_cpu(workers, count):
    with ctx.Pool(workers) as pool:
        pool.map(_square, range(4 * workers))
        start = time.perf_counter()
        result = pool.map(_burn_one_millisecond, range(count))
        elapsed = time.perf_counter() - start
    assert result == [i * i for i in range(count)]
    return elapsed


# name -> (function, unit): unit "us"/"ms"/"ns" per operation, "per_s", or ("GB_s", bytes per operation).
WORKLOADS = {
    "process_start_join": (process_start_join, "us"),
    "pipe_pingpong_duplex": (pipe_pingpong_duplex, "us"),
    "pipe_pingpong_simplex": (pipe_pingpong_simplex, "us"),
    "pipe_1k_duplex": (pipe_1k_duplex, "per_s"),
    "pipe_1k_simplex": (pipe_1k_simplex, "per_s"),
    "codec_roundtrip": (codec_roundtrip, "ns"),
    "lock_contended": (lock_contended, "per_s"),
    "semaphore_handoff": (semaphore_handoff, "per_s"),
    "queue_1to1": (queue_1to1, "per_s"),
    "queue_4to1": (queue_4to1, "per_s"),
    "pool_map": (pool_map, "per_s"),
    "pool_map_chunk1": (pool_map_chunk1, "per_s"),
    "pool_apply_async": (pool_apply_async, "per_s"),
    "pool_startup": (pool_startup, "ms"),
    "pool_map_64k": (pool_map_64k, "per_s"),
}
for _label, _size in (("64k", 64 << 10), ("1m", 1 << 20), ("16m", 16 << 20)):
    WORKLOADS[f"pipe_{_label}_duplex"] = (lambda count, size=_size: _big_one_way(True, size, count), ("GB_s", _size))
    WORKLOADS[f"pipe_{_label}_simplex"] = (lambda count, size=_size: _big_one_way(False, size, count), ("GB_s", _size))
    WORKLOADS[f"queue_{_label}"] = (lambda count, size=_size: _big_queue(size, count), ("GB_s", _size))

SCALE = {"us": 1e6, "ms": 1e3, "ns": 1e9}


def main():
    name, operations, repetitions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if name.startswith("pool_cpu_"):  # pool_cpu_N: N workers
        workers = int(name[len("pool_cpu_"):])
        function, unit = (lambda count: _pool_cpu(workers, count)), "per_s"
    else:
        function, unit = WORKLOADS[name]
    function(operations)  # warm-up
    figures = []
    for _ in range(repetitions):
        elapsed = function(operations)
        if unit == "per_s":
            figures.append(operations / elapsed)
        elif isinstance(unit, tuple):  # ("GB_s", bytes per operation)
            figures.append(operations * unit[1] / elapsed / 1e9)
        else:
            figures.append(elapsed / operations * SCALE[unit])
    print(statistics.median(figures))


if __name__ == "__main__":
    main()

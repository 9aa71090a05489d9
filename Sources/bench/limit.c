// The C twin of the Swift benchmarks: the same work with nothing in the way, the machine's limit.
//
// usage: limit WORKLOAD OPERATIONS REPETITIONS [PARAMETER]
// Prints the median of REPETITIONS runs (after one warm-up) in seconds per run on its last line; the
// bench turns it into the Swift side's unit. PARAMETER is the message size in bytes (stream_*,
// memcpy) or the number of workers (pool_cpu). Each run checks its result as the Swift side does and
// exits 1 with a message if it is wrong. Built by the bench itself (`cc -O2`, into .build/).
//
// The process layout follows the Swift workloads: children are forked where the Swift side starts
// its ChildProcess (inside or outside the clock), and the counts are the same. Where the best way
// depends on the machine's load (a ping-pong's blocking or spinning reads), each run tries both
// and keeps the faster.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void fail(const char *message) {
    fprintf(stderr, "%s\n", message);
    exit(1);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *shared(size_t size) {
    void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) fail("mmap failed");
    return memory;
}

static pid_t spawn(void) {
    pid_t pid = fork();
    if (pid < 0) fail("fork failed");
    return pid;
}

/// Waits for `pid`; true when it exited with 0.
static int reap(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) fail("waitpid failed");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void write_all(int fd, const void *bytes, size_t count) {
    const char *p = bytes;
    while (count > 0) {
        ssize_t n = write(fd, p, count);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("write failed");
        p += n;
        count -= (size_t)n;
    }
}

/// False at end of file before the first byte.
static int read_all(int fd, void *bytes, size_t count) {
    char *p = bytes;
    size_t done = 0;
    while (done < count) {
        ssize_t n = read(fd, p + done, count - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("read failed");
        if (n == 0) {
            if (done == 0) return 0;
            fail("a message was cut short");
        }
        done += (size_t)n;
    }
    return 1;
}

static long futex(_Atomic uint32_t *word, int op, uint32_t value) {
    return syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

// MARK: fork + _exit + waitpid

static double process_start_join(long count) {
    double start = now();
    for (long i = 0; i < count; i++) {
        pid_t pid = spawn();
        if (pid == 0) _exit(0);
        if (!reap(pid)) fail("a child failed");
    }
    return now() - start;
}

// MARK: pipes and socket pairs

/// Two one-way channels: a socket pair serves both ways, or two pipes.
struct channels {
    int parent_receive, parent_send, child_receive, child_send;
};

static struct channels make_channels(int duplex) {
    struct channels c;
    if (duplex) {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) fail("socketpair failed");
        c = (struct channels){fds[0], fds[0], fds[1], fds[1]};
    } else {
        int to_child[2], to_parent[2];
        if (pipe(to_child) != 0 || pipe(to_parent) != 0) fail("pipe failed");
        c = (struct channels){to_parent[0], to_child[1], to_child[0], to_parent[1]};
    }
    return c;
}

static void close_channels(struct channels c) {
    int fds[4] = {c.parent_receive, c.parent_send, c.child_receive, c.child_send};
    for (int i = 0; i < 4; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= fds[j] == fds[i];
        if (!seen) close(fds[i]);
    }
}

/// Reads `count` bytes from a non-blocking `fd`: looks again for up to 20 µs before it sleeps in
/// poll, as the Swift side's receiver does (a spin halves a round trip when the other side is quick).
static void read_spinning(int fd, void *bytes, size_t count) {
    char *p = bytes;
    double spin_start = 0;
    while (count > 0) {
        ssize_t n = read(fd, p, count);
        if (n > 0) {
            p += n;
            count -= (size_t)n;
            continue;
        }
        if (n == 0) fail("end of file in a ping-pong");
        if (errno == EINTR) continue;
        if (errno != EAGAIN) fail("read failed");
        if (spin_start == 0) spin_start = now();
        if (now() - spin_start < 20e-6) continue;
        struct pollfd waiting = {.fd = fd, .events = POLLIN};
        poll(&waiting, 1, -1);
        spin_start = 0;
    }
}

/// Round trips of an int64 through a child that adds one; the child is forked before the clock.
/// With `spin`, both sides read without blocking first (see read_spinning; an 8-byte write always
/// fits), else they block in read.
static double pingpong(int duplex, long count, int spin) {
    struct channels c = make_channels(duplex);
    if (spin) {
        fcntl(c.parent_receive, F_SETFL, O_NONBLOCK);
        fcntl(c.child_receive, F_SETFL, O_NONBLOCK);
    }
    pid_t pid = spawn();
    if (pid == 0) {
        for (long i = 0; i < count; i++) {
            int64_t value;
            if (spin) read_spinning(c.child_receive, &value, sizeof value);
            else if (!read_all(c.child_receive, &value, sizeof value)) _exit(3);
            value += 1;
            write_all(c.child_send, &value, sizeof value);
        }
        _exit(0);
    }
    double start = now();
    for (int64_t value = 0; value < count; value++) {
        int64_t answer;
        write_all(c.parent_send, &value, sizeof value);
        if (spin) read_spinning(c.parent_receive, &answer, sizeof answer);
        else if (!read_all(c.parent_receive, &answer, sizeof answer)) fail("end of file in a ping-pong");
        if (answer != value + 1) fail("wrong answer");
    }
    double elapsed = now() - start;
    if (!reap(pid)) fail("the ping-pong child failed");
    close_channels(c);
    return elapsed;
}

/// The better of blocking reads and spinning ones: which wins depends on how busy the machine is.
static double pingpong_best(int duplex, long count) {
    double blocking = pingpong(duplex, count, 0), spinning = pingpong(duplex, count, 1);
    return blocking < spinning ? blocking : spinning;
}

/// Stamps message `index` at both ends, so a lost, repeated or torn message shows.
static void stamp(unsigned char *message, size_t size, long index) {
    message[0] = (unsigned char)index;
    message[size - 1] = (unsigned char)(index >> 8);
}

static int stamped(const unsigned char *message, size_t size, long index) {
    return message[0] == (unsigned char)index && message[size - 1] == (unsigned char)(index >> 8);
}

/// `count` messages of `size` bytes one way to a child (forked before the clock) that reads each
/// whole and checks its stamp; the clock stops when the child has exited, as on the Swift side.
static double stream(int duplex, long count, size_t size) {
    struct channels c = make_channels(duplex);
    unsigned char *message = malloc(size);
    if (!message) fail("out of memory");
    memset(message, 7, size);
    pid_t pid = spawn();
    if (pid == 0) {
        if (!duplex) close(c.parent_send);
        for (long i = 0; i < count; i++)
            if (!read_all(c.child_receive, message, size) || !stamped(message, size, i)) _exit(3);
        _exit(0);
    }
    double start = now();
    for (long i = 0; i < count; i++) {
        stamp(message, size, i);
        write_all(c.parent_send, message, size);
    }
    int ok = reap(pid);
    double elapsed = now() - start;
    if (!ok) fail("the receiving child failed");
    close_channels(c);
    free(message);
    return elapsed;
}

/// `count` copies of `size` bytes from one buffer to another: the bandwidth a shared-memory queue
/// (one copy in, one copy out) is measured against.
static double copy(long count, size_t size) {
    unsigned char *from = malloc(size), *to = malloc(size);
    if (!from || !to) fail("out of memory");
    memset(from, 7, size);
    memset(to, 0, size);
    double start = now();
    for (long i = 0; i < count; i++) {
        stamp(from, size, i);
        memcpy(to, from, size);
        if (!stamped(to, size, i)) fail("memcpy lost a stamp");
    }
    double elapsed = now() - start;
    free(from);
    free(to);
    return elapsed;
}

// MARK: a shared-memory ring with futex waits (the queue rows)

// A bounded multi-producer ring of int64 (Vyukov's: each cell's sequence number says whose turn it
// is), one consumer. A waiting side spins briefly, then sleeps on a futex word that the other side
// bumps only when a sleeper announced itself: no system call while both sides keep up.
#define RING_CELLS 65536
struct cell {
    _Atomic uint64_t sequence;
    int64_t value;
};
struct ring {
    _Alignas(64) _Atomic uint64_t tail;  // next cell to fill (producers)
    _Alignas(64) uint64_t head;          // next cell to take (the one consumer)
    _Alignas(64) _Atomic uint32_t items;  // bumped after a put when the consumer sleeps
    _Atomic uint32_t consumer_sleeps;
    _Alignas(64) _Atomic uint32_t space;  // bumped after a get when producers sleep
    _Atomic uint32_t producers_sleep;
    _Alignas(64) struct cell cells[RING_CELLS];
};

/// A short spin before a futex sleep: up to 200 looks, with 1, 2, 4 ... 64 CPU pauses between them
/// (tens of µs), the policy of the Swift side's shared-memory waits.
static void pause_for(int look) {
    for (int i = 0; i < (look < 6 ? 1 << look : 64); i++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
    }
}
#define SPIN_LOOKS 200

static void ring_put(struct ring *r, int64_t value) {
    for (int look = 0;; look++) {
        uint64_t position = atomic_load_explicit(&r->tail, memory_order_relaxed);
        struct cell *c = &r->cells[position % RING_CELLS];
        uint64_t sequence = atomic_load_explicit(&c->sequence, memory_order_acquire);
        if (sequence == position) {
            if (atomic_compare_exchange_weak(&r->tail, &position, position + 1)) {
                c->value = value;
                atomic_store_explicit(&c->sequence, position + 1, memory_order_release);
                atomic_thread_fence(memory_order_seq_cst);
                // Only the producer that clears the flag wakes the consumer: one system call per sleep.
                if (atomic_load_explicit(&r->consumer_sleeps, memory_order_relaxed)
                    && atomic_exchange(&r->consumer_sleeps, 0)) {
                    atomic_fetch_add(&r->items, 1);
                    futex(&r->items, FUTEX_WAKE, 1);
                }
                return;
            }
        } else if (sequence < position) {  // full: spin, then sleep until the consumer frees a cell
            if (look < SPIN_LOOKS) {
                pause_for(look);
                continue;
            }
            uint32_t seen = atomic_load(&r->space);
            atomic_store(&r->producers_sleep, 1);
            if (atomic_load(&c->sequence) < position) futex(&r->space, FUTEX_WAIT, seen);
            look = 0;
        }
    }
}

static int64_t ring_get(struct ring *r) {
    struct cell *c = &r->cells[r->head % RING_CELLS];
    for (int look = 0; atomic_load_explicit(&c->sequence, memory_order_acquire) != r->head + 1; look++) {
        if (look < SPIN_LOOKS) {  // empty: spin, then sleep until a producer fills the cell
            pause_for(look);
            continue;
        }
        uint32_t seen = atomic_load(&r->items);
        atomic_store(&r->consumer_sleeps, 1);
        if (atomic_load(&c->sequence) != r->head + 1) futex(&r->items, FUTEX_WAIT, seen);
        look = 0;
    }
    int64_t value = c->value;
    atomic_store_explicit(&c->sequence, r->head + RING_CELLS, memory_order_release);
    r->head++;
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->producers_sleep, memory_order_relaxed) && atomic_exchange(&r->producers_sleep, 0)) {
        atomic_fetch_add(&r->space, 1);
        futex(&r->space, FUTEX_WAKE, INT_MAX);
    }
    return value;
}

/// `producers` children (forked inside the clock) put 0..<count in contiguous runs; the parent gets
/// them all and checks the sum.
static double queue(int producers, long count) {
    struct ring *r = shared(sizeof *r);
    for (uint64_t i = 0; i < RING_CELLS; i++) atomic_init(&r->cells[i].sequence, i);
    long share = count / producers;
    pid_t pids[64];
    double start = now();
    for (int p = 0; p < producers; p++) {
        pids[p] = spawn();
        if (pids[p] == 0) {
            long end = p == producers - 1 ? count : (p + 1) * share;
            for (long value = p * share; value < end; value++) ring_put(r, value);
            _exit(0);
        }
    }
    int64_t total = 0;
    for (long i = 0; i < count; i++) total += ring_get(r);
    int ok = 1;
    for (int p = 0; p < producers; p++) ok &= reap(pids[p]);
    double elapsed = now() - start;
    if (!ok) fail("a producer failed");
    if (total != (int64_t)count * (count - 1) / 2) fail("the sum of the items is wrong");
    munmap(r, sizeof *r);
    return elapsed;
}

// MARK: a process-shared mutex and semaphores

static double lock_contended(long count) {
    struct {
        pthread_mutex_t mutex;
        long counter;
    } *s = shared(sizeof *s);
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->mutex, &attributes);
    s->counter = 0;
    pid_t pids[2];
    double start = now();
    for (int w = 0; w < 2; w++) {
        pids[w] = spawn();
        if (pids[w] == 0) {
            for (long i = 0; i < count / 2; i++) {
                pthread_mutex_lock(&s->mutex);
                s->counter += 1;
                pthread_mutex_unlock(&s->mutex);
            }
            _exit(0);
        }
    }
    int ok = reap(pids[0]) & reap(pids[1]);
    double elapsed = now() - start;
    if (!ok || s->counter != count / 2 * 2) fail("the counter is wrong");
    munmap(s, sizeof *s);
    return elapsed;
}

#define SLOTS 16
static double semaphore_handoff(long count) {
    struct {
        sem_t empty, full;
        long buffer[SLOTS];
    } *s = shared(sizeof *s);
    sem_init(&s->empty, 1, SLOTS);
    sem_init(&s->full, 1, 0);
    double start = now();
    pid_t pid = spawn();
    if (pid == 0) {
        for (long value = 0; value < count; value++) {
            while (sem_wait(&s->empty) != 0) {}
            s->buffer[value % SLOTS] = value;
            sem_post(&s->full);
        }
        _exit(0);
    }
    int in_order = 1;
    for (long expected = 0; expected < count; expected++) {
        while (sem_wait(&s->full) != 0) {}
        if (s->buffer[expected % SLOTS] != expected) in_order = 0;
        sem_post(&s->empty);
    }
    int ok = reap(pid);
    double elapsed = now() - start;
    if (!in_order || !ok) fail("items arrived out of order or the producer failed");
    munmap(s, sizeof *s);
    return elapsed;
}

// MARK: CPU-bound work on N processes (the Pool scaling rows)

/// What one item costs: this thread's CPU time advances by 1 ms (the Swift and Python sides burn
/// the same), so the three languages do the same work whatever their speed at arithmetic.
static int64_t burn(int64_t item) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    int64_t until = t.tv_sec * 1000000000LL + t.tv_nsec + 1000000;
    volatile uint64_t x = (uint64_t)item;
    do {
        for (int i = 0; i < 1000; i++) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while (t.tv_sec * 1000000000LL + t.tv_nsec < until);
    return item * item;
}

/// `workers` processes, forked before the clock (as a pool's are), take items from a shared counter
/// after a start signal; each result goes to its slot; the clock stops when the last item is done.
static double pool_cpu(long count, int workers) {
    struct {
        _Atomic long next, done;
        _Atomic uint32_t go, finished;
        int64_t results[];
    } *s = shared(sizeof *s + (size_t)count * sizeof(int64_t));
    atomic_init(&s->next, 0);
    atomic_init(&s->done, 0);
    atomic_init(&s->go, 0);
    atomic_init(&s->finished, 0);
    pid_t pids[256];
    for (int w = 0; w < workers; w++) {
        pids[w] = spawn();
        if (pids[w] == 0) {
            while (atomic_load(&s->go) == 0) futex(&s->go, FUTEX_WAIT, 0);
            for (long i; (i = atomic_fetch_add(&s->next, 1)) < count;) {
                s->results[i] = burn(i);
                if (atomic_fetch_add(&s->done, 1) == count - 1) {
                    atomic_store(&s->finished, 1);
                    futex(&s->finished, FUTEX_WAKE, 1);
                }
            }
            _exit(0);
        }
    }
    usleep(10000);  // the workers are up and asleep, as a warmed-up pool's are
    double start = now();
    atomic_store(&s->go, 1);
    futex(&s->go, FUTEX_WAKE, INT_MAX);
    while (atomic_load(&s->finished) == 0) futex(&s->finished, FUTEX_WAIT, 0);
    double elapsed = now() - start;
    int ok = 1;
    for (int w = 0; w < workers; w++) ok &= reap(pids[w]);
    for (long i = 0; i < count; i++) ok &= s->results[i] == (int64_t)i * i;
    if (!ok) fail("a worker failed or a result is wrong");
    munmap(s, sizeof *s + (size_t)count * sizeof(int64_t));
    return elapsed;
}

// MARK: main

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 4) fail("usage: limit WORKLOAD OPERATIONS REPETITIONS [PARAMETER]");
    const char *name = argv[1];
    long count = atol(argv[2]);
    int repetitions = atoi(argv[3]);
    long parameter = argc > 4 ? atol(argv[4]) : 0;
    if (count < 1 || repetitions < 1 || repetitions > 1000) fail("bad count or repetitions");
    double figures[1000];
    for (int r = -1; r < repetitions; r++) {  // -1: the warm-up
        double elapsed;
        if (!strcmp(name, "process_start_join")) elapsed = process_start_join(count);
        else if (!strcmp(name, "pingpong_duplex")) elapsed = pingpong_best(1, count);
        else if (!strcmp(name, "pingpong_simplex")) elapsed = pingpong_best(0, count);
        else if (!strcmp(name, "stream_duplex") && parameter > 0) elapsed = stream(1, count, (size_t)parameter);
        else if (!strcmp(name, "stream_simplex") && parameter > 0) elapsed = stream(0, count, (size_t)parameter);
        else if (!strcmp(name, "memcpy") && parameter > 0) elapsed = copy(count, (size_t)parameter);
        else if (!strcmp(name, "queue_1to1")) elapsed = queue(1, count);
        else if (!strcmp(name, "queue_4to1")) elapsed = queue(4, count);
        else if (!strcmp(name, "lock_contended")) elapsed = lock_contended(count);
        else if (!strcmp(name, "semaphore_handoff")) elapsed = semaphore_handoff(count);
        else if (!strcmp(name, "pool_cpu") && parameter > 0 && parameter <= 256) elapsed = pool_cpu(count, (int)parameter);
        else fail("unknown workload or missing parameter");
        if (r >= 0) figures[r] = elapsed;
    }
    qsort(figures, (size_t)repetitions, sizeof(double), compare);
    double median = repetitions % 2 ? figures[repetitions / 2]
                                    : (figures[repetitions / 2 - 1] + figures[repetitions / 2]) / 2;
    printf("%.9g\n", median);
    return 0;
}

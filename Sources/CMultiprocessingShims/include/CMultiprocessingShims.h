// The few Linux calls and macros that Swift's Glibc module does not import.
// Each wrapper returns what the call returns; errors are left in errno.
#ifndef CMULTIPROCESSINGSHIMS_H
#define CMULTIPROCESSINGSHIMS_H

#ifndef __linux__
#error "Multiprocessing runs on Linux only: it is built on Linux calls (pidfd_open, prctl, eventfd, signalfd, futex)"
#endif

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

// pipe2(fds, O_CLOEXEC): a pipe whose ends close on exec. Returns 0 or -1.
int mp_pipe_cloexec(int fds[2]);

// Wait-status macros (WIFEXITED & co. are macros, invisible to Swift).
int mp_wexitstatus(int status);
int mp_wifsignaled(int status);
int mp_wtermsig(int status);

// pidfd: a file descriptor that refers to one process, immune to pid reuse.
// Returns -1 with errno ENOSYS on kernels without it (before Linux 5.3).
int mp_pidfd_open(pid_t pid);

// prctl(PR_SET_PDEATHSIG, sig): deliver `sig` to this process when the
// thread that forked it ends. Returns 0 or -1.
int mp_set_parent_death_signal(int sig);

// The number of CPUs this process may run on (sched_getaffinity), or -1.
int mp_affinity_cpu_count(void);

// The kernel thread id of the calling thread.
pid_t mp_gettid(void);

// The errno of the calling thread (errno is a macro).
int mp_errno(void);

// The conventional name of a signal ("SIGKILL" for SIGKILL), or NULL for one without a name here.
// The one table of signal names: the runtime's signalName and the book's runner both use it.
const char *mp_signal_name(int sig);

// Set a signal to be ignored, or back to its default action (sigaction).
int mp_signal_ignore(int sig);
int mp_signal_default(int sig);

// Installs a handler that does nothing, without SA_RESTART: each delivery interrupts blocking
// calls with EINTR. For tests that prove waits survive signals.
int mp_signal_catch_and_ignore(int sig);

// setvbuf(stdout, ...) with _IOFBF, _IOLBF or _IONBF (Swift 6 cannot name stdout).
// Call it before anything is written to stdout.
int mp_set_stdout_buffering(int mode);

// Flushes stdout and replaces it with a fresh stream on descriptor 1, whose buffering C chooses
// at its first write, as at program start (full into a pipe or file, line on a terminal).
int mp_reopen_stdout(void);

// ---- Process-shared synchronization (Platform/Futex.swift) ----

// futex(FUTEX_WAIT) on a word that other processes share (not FUTEX_PRIVATE_FLAG): sleeps while
// *word == expected, for at most `relative` on CLOCK_MONOTONIC (NULL: no limit). Returns 0 when
// woken (possibly spuriously), or -1 with errno EAGAIN (the word differed), ETIMEDOUT or EINTR.
int mp_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *relative);

// futex(FUTEX_WAKE): wakes up to `count` waiters of *word in any process. Returns how many or -1.
int mp_futex_wake(uint32_t *word, int count);

// Initializes a process-shared, robust, error-checking mutex (in shared memory).
// Returns 0 or an error number.
int mp_mutex_init_shared_robust(pthread_mutex_t *mutex);

// pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, deadline): needs _GNU_SOURCE. `deadline` is an
// absolute CLOCK_MONOTONIC time. Returns 0, EOWNERDEAD, ETIMEDOUT, ENOTRECOVERABLE, EDEADLK, ...
int mp_mutex_lock_until_monotonic(pthread_mutex_t *mutex, const struct timespec *deadline);

// The calling process's pid and the calling thread's kernel thread id, cached so that the fast
// path of a lock makes no system call; a pthread_atfork handler refreshes them in a forked child.
pid_t mp_cached_pid(void);
pid_t mp_cached_tid(void);

// A spin-wait hint to the CPU (x86 `pause`): lets a sibling hyperthread run, saves power.
static inline void mp_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK): a counter descriptor that one thread makes readable
// to wake others blocked in poll. Returns the descriptor or -1.
int mp_eventfd_cloexec(void);

// ---- Pool ----
// sendmsg with MSG_NOSIGNAL, passing descriptor `fd` (SCM_RIGHTS) along with the bytes unless
// fd < 0. Returns the bytes sent or -1.
ssize_t mp_send_with_descriptor(int sock, const void *bytes, size_t count, int fd);

// recvmsg with MSG_CMSG_CLOEXEC (and MSG_DONTWAIT if dont_wait): a descriptor passed with the
// message lands in *fd (close-on-exec), else *fd = -1. Returns the bytes received, 0 at end of
// file, or -1.
ssize_t mp_receive_with_descriptor(int sock, void *bytes, size_t count, int *fd, int dont_wait);

// Blocks SIGCHLD in the calling thread and returns a non-blocking, close-on-exec signalfd that
// becomes readable when a child ends (signalfd is not imported by Glibc). -1 on failure.
int mp_child_exit_descriptor(void);

// ---- The async forms' reactor (AsyncWaits.swift); Glibc does not import <sys/epoll.h> ----

// epoll_create1(EPOLL_CLOEXEC). Returns the descriptor or -1.
int mp_epoll_create(void);

// Watches `fd` for one readiness to read (EPOLLIN | EPOLLONESHOT; a hang-up or an error counts),
// reported as `token`: adds it (rearm 0), or re-arms it after it was reported (rearm 1). 0 or -1.
int mp_epoll_watch(int epfd, int fd, uint64_t token, int rearm);

// Stops watching `fd`. Returns 0 or -1.
int mp_epoll_forget(int epfd, int fd);

// epoll_wait: stores the tokens of up to `max` ready descriptors in `tokens`; `timeout_ms` -1 waits
// without limit. Returns how many, or -1 (errno EINTR: nothing is lost, call again).
int mp_epoll_wait(int epfd, uint64_t *tokens, int max, int timeout_ms);

// ---- The fork gate (Platform/ForkGate.swift) ----
// A process-wide reader/writer lock that prefers writers. The runtime's own threads hold it as
// readers whenever they run code, and let go only while blocked in a wait; the runtime's fork
// holds it as the writer around fork(), so that no runtime thread is inside the Swift runtime (or
// any lock) at the instant of the fork. Whether the calling thread holds it is thread-local. A
// pthread_atfork handler gives every forked child a fresh gate that no thread holds (its one thread
// is no runtime thread there, even when it was one in the parent).

// A runtime thread begins (is counted, and enters the gate) or is ending (leaves it, uncounted).
void mp_fork_gate_thread_began(void);
void mp_fork_gate_thread_ending(void);
// How many runtime threads are counted now.
int mp_fork_gate_threads(void);
// Enters the gate (read side; blocks while a fork waits or runs) or leaves it. Each does nothing
// when the calling thread is already in (enter) or out (leave).
void mp_fork_gate_enter(void);
void mp_fork_gate_leave(void);
// Whether the calling thread is in the gate.
int mp_fork_gate_held(void);
// The writer's side: waits until `deadline` (absolute CLOCK_MONOTONIC) for every reader to leave.
// Returns 0 (closed: call mp_fork_gate_open after the fork) or ETIMEDOUT.
int mp_fork_gate_close(const struct timespec *deadline);
void mp_fork_gate_open(void);

// The number of threads of this process (field 20 of /proc/self/stat), or -1 if unreadable.
int mp_thread_count(void);
// 1 while this process has never had a second thread (glibc's __libc_single_threaded): no need
// to count them then. 0 once it has had one, even if it has ended since.
int mp_never_threaded(void);

// What a forked child does that its parent may never do (_exit; open, dup2 and close to put
// /dev/null on stdin), through pointers the dynamic linker filled at load: a first call through
// the PLT would make every child look the symbol up anew (see shims.c).
__attribute__((noreturn)) void mp_exit_now(int status);
void mp_redirect_stdin_to_dev_null(void);
// Binds, in the calling process, the C library calls a pool's zygote makes at its start and that a
// parent may never make (prctl, sigaction, sigemptyset, sigaddset, signalfd), by calls that change
// nothing: every zygote forked later inherits the bindings instead of resolving them itself.
void mp_bind_zygote_calls(void);


// ---- Tracing (Multiprocessing/Trace): one shared region of fixed-size records ----
// The region of the trace this process records into, or NULL. Tracing off costs the one plain
// load and branch of mp_trace_active(); a fork copies the pointer, so children record too.
extern void *mp_trace_region;
static inline void *mp_trace_active(void) { return mp_trace_region; }
void mp_trace_set_active(void *region);

// One event as stored: 32 bytes. `kind` is written last (release), so a record whose writer
// was killed half-way reads as kind 0 and is skipped.
typedef struct {
    int64_t nanoseconds;  // as read: CLOCK_MONOTONIC (as stored: TSC ticks when the region uses them)
    int32_t pid;
    int32_t tid;
    uint64_t object;
    int32_t argument;
    uint16_t kind;
    uint16_t spare;  // a `held` record: the hold's high 16 bits (argument: its low 32)
} mp_trace_record;

// The action of a lock's whole hold in one record (TraceAction.held): its time is the acquire, and
// argument and spare hold its duration (48 bits: ticks as stored, nanoseconds as read).
#define MP_TRACE_ACTION_HELD 20
static inline int64_t mp_trace_held_duration(const mp_trace_record *record) {
    return (int64_t)((uint64_t)(uint32_t)record->argument | (uint64_t)record->spare << 32);
}

// A fresh zero-filled shared region for `capacity` records, 4096 more for process starts and ends,
// and `names` process names (MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, its first 256 MiB faulted
// in now), owned by the caller's process; it stores TSC ticks when the CPU's TSC is invariant
// (x86-64) and MP_TRACE_CLOCK is not `monotonic`. NULL with errno on failure.
void *mp_trace_create(uint64_t capacity, uint64_t names);
// Frees the region's pages (its address range stays mapped: a thread still appending writes to
// fresh zero pages, harmlessly).
void mp_trace_discard(void *region, uint64_t capacity, uint64_t names);
// Takes the end anchor (TSC and clock) that reading converts ticks by: call it before reading.
void mp_trace_seal(void *region);
// Whether the records store TSC ticks.
int mp_trace_uses_tsc(const void *region);
// Appends one record for the calling thread: a timestamp, and one atomic fetch-add on the shared
// index per 64 records (a thread claims a block of slots and fills it alone). A full region drops
// the record and counts it (mp_trace_dropped); a process's start or end has slots of its own.
void mp_trace_append(void *region, uint16_t kind, uint64_t object, int32_t argument);
// A timestamp as records store it, and an append with one taken earlier: a lock's release takes
// its time while it still holds the lock, and writes the record after, so that the hold does not
// grow by a clock read and the next holder's time is after it.
int64_t mp_trace_stamp(const void *region);
void mp_trace_append_at(void *region, int64_t stamp, uint16_t kind, uint64_t object, int32_t argument);
// A lock's hold as one record. At the acquire, mp_trace_begin_hold appends an `acquired` record (kind) for the calling thread and returns it
// (NULL when the region is full); a holder killed before it releases leaves it so. At the release,
// by any process of the trace, mp_trace_end_hold stamps the end (called while the lock is still
// held: see LockCore.acquireTraced) and turns that record into `held_kind` with the duration, if it is still the
// `acquired_kind` record of `object` by `holder` (tid << 32 | pid) in this region; else nothing.
// Both are inline (a lock round is some 60 ns): the calling thread's block of slots, and the
// active region's clock, are these variables (trace.c keeps them).
extern __thread void *mp_trace_block_region;
extern __thread uint64_t mp_trace_block_next;
extern __thread uint64_t mp_trace_block_end;
extern __thread pid_t mp_trace_block_pid;
extern __thread pid_t mp_trace_block_tid;
// Whether the active region's records hold TSC ticks (set with it, by mp_trace_set_active).
extern int mp_trace_active_tsc;
// Claims a block of slots for the calling thread (its current one is used up): false when full.
int mp_trace_claim(void *region);
int64_t mp_trace_now(void);

#define MP_TRACE_HEADER_BYTES 320
#define MP_TRACE_HELD_MAX (((int64_t)1 << 48) - 1)

static inline int64_t mp_trace_stamp_active(void) {
#if defined(__x86_64__)
    if (mp_trace_active_tsc) return (int64_t)__builtin_ia32_rdtsc();
#endif
    return mp_trace_now();
}

static inline mp_trace_record *mp_trace_slot(void *region, uint64_t index) {
    return (mp_trace_record *)((char *)region + MP_TRACE_HEADER_BYTES) + index;
}

// The region's capacity in common slots (the header's second word).
static inline uint64_t mp_trace_slot_capacity(const void *region) { return ((const uint64_t *)region)[1]; }

// `time`: the hold's start as mp_trace_stamp_active() gave it.
static inline mp_trace_record *mp_trace_begin_hold(void *region, int64_t time, uint16_t kind, uint64_t object) {
    if (__builtin_expect(mp_trace_block_region != region || mp_trace_block_next >= mp_trace_block_end, 0) &&
        !mp_trace_claim(region))
        return (mp_trace_record *)0;
    mp_trace_record *record = mp_trace_slot(region, mp_trace_block_next++);
    record->nanoseconds = time;
    record->pid = mp_trace_block_pid;
    record->tid = mp_trace_block_tid;
    record->object = object;
    record->argument = 0;
    record->spare = 0;
    __atomic_store_n(&record->kind, kind, __ATOMIC_RELEASE);
    return record;
}

static inline void mp_trace_end_hold(void *region, mp_trace_record *record, uint16_t acquired_kind,
                                     uint16_t held_kind, uint64_t object, uint64_t holder) {
    int64_t end = mp_trace_stamp_active();
    // A record of an older region (a trace stopped since), or an older hold left as `acquired` by a
    // release that did not trace: not this hold's.
    mp_trace_record *first = mp_trace_slot(region, 0);
    if (record < first || record >= first + mp_trace_slot_capacity(region)) return;
    if (__atomic_load_n(&record->kind, __ATOMIC_RELAXED) != acquired_kind || record->object != object ||
        record->pid != (int32_t)(uint32_t)holder || record->tid != (int32_t)(uint32_t)(holder >> 32))
        return;
    int64_t held = end - record->nanoseconds;
    if (held < 0) held = 0;
    if (held > MP_TRACE_HELD_MAX) held = MP_TRACE_HELD_MAX;
    record->argument = (int32_t)(uint32_t)held;
    record->spare = (uint16_t)(held >> 32);
    __atomic_store_n(&record->kind, held_kind, __ATOMIC_RELEASE);
    // The thread's next slot claimed now (and its page mapped), not inside its next hold.
    if (__builtin_expect(mp_trace_block_region != region || mp_trace_block_next >= mp_trace_block_end, 0))
        (void)mp_trace_claim(region);
}

// The same on behalf of another process's main thread (a child's exit, seen by its parent).
void mp_trace_append_for(void *region, pid_t pid, uint16_t kind, uint64_t object, int32_t argument);
// Records `name` (at most 59 bytes kept) as the name of process `pid`.
void mp_trace_name(void *region, pid_t pid, const char *name);
// How many slots were claimed (blocks of 64, partly unfilled; may exceed the capacity), how many
// records were dropped, how many fit, the owner's pid and the start time.
uint64_t mp_trace_appended(const void *region);
uint64_t mp_trace_dropped(const void *region);
uint64_t mp_trace_capacity(const void *region);
pid_t mp_trace_owner(const void *region);
int64_t mp_trace_start(const void *region);
// How many common slots and process start/end slots may hold records (read 0..<count of each).
uint64_t mp_trace_slots(const void *region);
uint64_t mp_trace_life_slots(const void *region);
// Copies record `index` into `out`, its time in CLOCK_MONOTONIC nanoseconds; 0 when it is empty
// (never written, or its writer died mid-way). `_life`: the process start/end slots.
int mp_trace_read(const void *region, uint64_t index, mp_trace_record *out);
int mp_trace_read_life(const void *region, uint64_t index, mp_trace_record *out);
// How many names were recorded; name `index`'s pid (0: empty) and its text, NUL-terminated.
uint64_t mp_trace_name_count(const void *region);
pid_t mp_trace_name_at(const void *region, uint64_t index, const char **name);
// The monotonic clock in nanoseconds, as the records have it.
int64_t mp_trace_now(void);

#endif

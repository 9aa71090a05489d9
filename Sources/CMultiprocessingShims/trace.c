// The trace region: a header, then fixed-size records, then process names, in one shared mapping
// that every process forked after the trace started inherits. Writers never wait and never block
// one another: a thread claims a block of slots with one atomic fetch-add on the shared index and
// fills it alone, so the shared cache line is touched once per block, not once per record.
// A process's start and end go to a reserved area of their own, so that a full region still names
// every process of the run.
//
// Timestamps: on x86-64 with an invariant TSC (constant_tsc and nonstop_tsc in /proc/cpuinfo, and
// the kernel keeping time by it) a record stores the raw TSC, about 10 ns to read where the clock
// takes about 65 ns on a loaded virtual machine; reading the records converts ticks to
// CLOCK_MONOTONIC nanoseconds by the line through two (TSC, clock) pairs taken at the trace's start
// and at its end. Elsewhere, or with MP_TRACE_CLOCK=monotonic, a record stores the clock itself.
#include "CMultiprocessingShims.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define MP_TRACE_MAGIC 0x4D50545241434532ULL  // "MPTRACE2"
#define MP_TRACE_NAME_BYTES 60
// Slots for process starts and ends, apart from the other records (a run with more processes
// falls back to the common slots).
#define MP_TRACE_LIFE 4096
// The most bytes pre-faulted at the start (8 Mi records): beyond, pages are faulted on first use.
#define MP_TRACE_POPULATE_MAX ((size_t)256 << 20)

typedef struct {
    uint64_t magic;
    uint64_t capacity;
    uint64_t names;
    int64_t start;       // CLOCK_MONOTONIC ns at the start anchor
    int32_t owner;
    int32_t use_tsc;     // records hold TSC ticks, not nanoseconds
    uint64_t tsc_start;  // the TSC at the start anchor
    char pad0[64 - 48];
    uint64_t next;  // on its own cache line: every writer of every process adds to it
    char pad1[56];
    uint64_t next_name;
    uint64_t next_life;  // rare, like names: shares their line
    char pad2[48];
    uint64_t dropped;  // records that found no slot
    char pad3[56];
    int64_t stop;       // the end anchor (mp_trace_seal): CLOCK_MONOTONIC ns
    uint64_t tsc_stop;  // and the TSC
    char pad4[48];
} trace_header;

typedef struct {
    int32_t pid;  // written last (release): 0 means empty
    char name[MP_TRACE_NAME_BYTES];
} trace_name;

#define HEADER_BYTES MP_TRACE_HEADER_BYTES
_Static_assert(offsetof(trace_header, capacity) == 8, "mp_trace_slot_capacity reads the second word");
_Static_assert(sizeof(trace_header) <= HEADER_BYTES, "the header fits before the records");
_Static_assert(sizeof(mp_trace_record) == 32, "two records per cache line");

void *mp_trace_region = NULL;
int mp_trace_active_tsc = 0;

void mp_trace_set_active(void *region) {
    mp_trace_active_tsc = region ? ((trace_header *)region)->use_tsc : 0;
    mp_trace_region = region;
}

int64_t mp_trace_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static inline uint64_t read_tsc(void) {
#if defined(__x86_64__)
    return __rdtsc();
#else
    return 0;
#endif
}

// A record's timestamp: ticks or nanoseconds, as the header says.
static inline int64_t stamp(const trace_header *header) {
#if defined(__x86_64__)
    if (header->use_tsc) return (int64_t)__rdtsc();
#endif
    (void)header;
    return mp_trace_now();
}

// A (TSC, clock) pair: the clock read between two TSC reads, the tightest of a few tries.
static void anchor(uint64_t *tsc, int64_t *ns) {
    uint64_t best = UINT64_MAX;
    for (int attempt = 0; attempt < 5; attempt++) {
        uint64_t before = read_tsc();
        int64_t now = mp_trace_now();
        uint64_t after = read_tsc();
        if (after - before < best) {
            best = after - before;
            *tsc = before + (after - before) / 2;
            *ns = now;
        }
    }
}

// Whether /proc/cpuinfo's flags hold both words, and the kernel keeps time by the TSC (it stops
// doing so when it finds the TSCs of its CPUs out of step).
static int tsc_is_invariant(void) {
#if defined(__x86_64__)
    const char *choice = getenv("MP_TRACE_CLOCK");
    if (choice && strcmp(choice, "monotonic") == 0) return 0;
    FILE *file = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
    if (!file) return 0;
    char source[32] = {0};
    int kernel_tsc = fgets(source, sizeof source, file) && strncmp(source, "tsc", 3) == 0;
    fclose(file);
    if (!kernel_tsc) return 0;
    file = fopen("/proc/cpuinfo", "re");
    if (!file) return 0;
    char line[4096];
    int constant = 0, nonstop = 0;
    while (fgets(line, sizeof line, file)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        constant = strstr(line, " constant_tsc") != NULL;
        nonstop = strstr(line, " nonstop_tsc") != NULL;
        break;
    }
    fclose(file);
    return constant && nonstop;
#else
    return 0;
#endif
}

static size_t region_bytes(uint64_t capacity, uint64_t names) {
    return HEADER_BYTES + (capacity + MP_TRACE_LIFE) * sizeof(mp_trace_record) + names * sizeof(trace_name);
}

static mp_trace_record *records(const void *region) {
    return (mp_trace_record *)((char *)region + HEADER_BYTES);
}

static trace_name *name_table(const void *region) {
    const trace_header *header = region;
    return (trace_name *)((char *)region + HEADER_BYTES +
                          (header->capacity + MP_TRACE_LIFE) * sizeof(mp_trace_record));
}

// The calling thread's block of slots: [next, end) of `region`, and its process and thread ids.
// A fork copies the forking thread's variables: the child forgets them (forget_after_fork), so that
// it never fills its parent's block. The slots a thread leaves unfilled (it ended, it was killed,
// the trace stopped) keep kind 0 and are skipped.
#define MP_TRACE_BLOCK 64
__thread void *mp_trace_block_region;
__thread pid_t mp_trace_block_pid;
__thread pid_t mp_trace_block_tid;
__thread uint64_t mp_trace_block_next;
__thread uint64_t mp_trace_block_end;
#define block_region mp_trace_block_region
#define block_pid mp_trace_block_pid
#define block_tid mp_trace_block_tid
#define block_next mp_trace_block_next
#define block_end mp_trace_block_end

// Slots below this one have their pages mapped in this process: the start faulted the pages in for
// the process that made the region, but a fork does not copy a shared mapping's page tables, so
// each child maps them again, a window of 256 KiB at a time (one system call, not 64 page faults).
#define MP_TRACE_WINDOW 8192
static __thread uint64_t mapped_end;

static void forget_after_fork(void) {
    block_region = NULL;
    mapped_end = 0;
}

static void map_window(trace_header *header, uint64_t slot) {
    uint64_t first = slot - slot % MP_TRACE_WINDOW;
    uint64_t last = first + MP_TRACE_WINDOW < header->capacity ? first + MP_TRACE_WINDOW : header->capacity;
    uintptr_t start = (uintptr_t)&((mp_trace_record *)((char *)header + HEADER_BYTES))[first];
    uintptr_t end = (uintptr_t)&((mp_trace_record *)((char *)header + HEADER_BYTES))[last];
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    start &= ~(page - 1);
    (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
    mapped_end = last;
}

static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;
static void install_fork_handler(void) { pthread_atfork(NULL, NULL, forget_after_fork); }

void *mp_trace_create(uint64_t capacity, uint64_t names) {
    size_t bytes = region_bytes(capacity, names);
    void *region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (region == MAP_FAILED) return NULL;
    // Faulting the pages in now, not at each one's first record: about 36 ns per record saved.
    // An older kernel without MADV_POPULATE_WRITE faults them on use instead.
    (void)madvise(region, bytes < MP_TRACE_POPULATE_MAX ? bytes : MP_TRACE_POPULATE_MAX, MADV_POPULATE_WRITE);
    pthread_once(&fork_handler_once, install_fork_handler);
    trace_header *header = region;
    header->magic = MP_TRACE_MAGIC;
    header->capacity = capacity;
    header->names = names;
    header->owner = mp_cached_pid();
    header->use_tsc = tsc_is_invariant();
    if (header->use_tsc) {
        anchor(&header->tsc_start, &header->start);
    } else {
        header->start = mp_trace_now();
    }
    return region;
}

void mp_trace_discard(void *region, uint64_t capacity, uint64_t names) {
    madvise(region, region_bytes(capacity, names), MADV_REMOVE);
}

void mp_trace_seal(void *region) {
    trace_header *header = region;
    if (header->use_tsc) {
        anchor(&header->tsc_stop, &header->stop);
    } else {
        header->stop = mp_trace_now();
    }
}


static inline void fill(mp_trace_record *record, int64_t time, pid_t pid, pid_t tid, uint16_t kind,
                        uint64_t object, int32_t argument) {
    record->nanoseconds = time;
    record->pid = pid;
    record->tid = tid;
    record->object = object;
    record->argument = argument;
    __atomic_store_n(&record->kind, kind, __ATOMIC_RELEASE);
}

// Claims a block for the calling thread if it has none left in `region`: false when the region is full.
static int claim(trace_header *header) {
    if (__builtin_expect(block_region == header && block_next < block_end, 1)) return 1;
    {
        // A plain load first: once the region is full, writers stop bouncing the index's line.
        uint64_t start = __atomic_load_n(&header->next, __ATOMIC_RELAXED);
        if (start < header->capacity) start = __atomic_fetch_add(&header->next, MP_TRACE_BLOCK, __ATOMIC_RELAXED);
        uint64_t end = start + MP_TRACE_BLOCK;
        if (end > header->capacity) end = header->capacity;
        if (start >= end) {
            __atomic_fetch_add(&header->dropped, 1, __ATOMIC_RELAXED);
            return 0;
        }
        if (block_region != header) {
            block_pid = mp_cached_pid();
            block_tid = mp_cached_tid();
            mapped_end = 0;
        }
        if (end > mapped_end) map_window(header, start);
        block_region = header;
        block_next = start;
        block_end = end;
    }
    return 1;
}

// A process's start or end (object Process, action started, exiting or exited): its own slot.
static int is_life(uint16_t kind) { return (kind >> 8) == 1 && (kind & 0xFF) >= 1 && (kind & 0xFF) <= 3; }

// A process's start or end in its own slot; false when those are used up.
static int append_life(trace_header *header, int64_t time, pid_t pid, pid_t tid, uint16_t kind, uint64_t object,
                       int32_t argument) {
    uint64_t index = __atomic_fetch_add(&header->next_life, 1, __ATOMIC_RELAXED);
    if (index >= MP_TRACE_LIFE) return 0;
    fill(&records(header)[header->capacity + index], time, pid, tid, kind, object, argument);
    return 1;
}

int64_t mp_trace_stamp(const void *region) { return stamp(region); }

void mp_trace_append(void *region, uint16_t kind, uint64_t object, int32_t argument) {
    mp_trace_append_at(region, stamp(region), kind, object, argument);
}

void mp_trace_append_at(void *region, int64_t time, uint16_t kind, uint64_t object, int32_t argument) {
    trace_header *header = region;
    if (__builtin_expect(is_life(kind), 0) &&
        append_life(header, time, mp_cached_pid(), mp_cached_tid(), kind, object, argument))
        return;
    if (!claim(header)) return;
    fill(&records(header)[block_next++], time, block_pid, block_tid, kind, object, argument);
}

int mp_trace_claim(void *region) { return claim(region); }

void mp_trace_append_for(void *region, pid_t pid, uint16_t kind, uint64_t object, int32_t argument) {
    trace_header *header = region;
    int64_t time = stamp(header);
    if (append_life(header, time, pid, pid, kind, object, argument) || !claim(header)) return;
    fill(&records(header)[block_next++], time, pid, pid, kind, object, argument);
}

void mp_trace_name(void *region, pid_t pid, const char *name) {
    trace_header *header = region;
    uint64_t index = __atomic_fetch_add(&header->next_name, 1, __ATOMIC_RELAXED);
    if (index >= header->names) return;
    trace_name *entry = &name_table(region)[index];
    strncpy(entry->name, name, MP_TRACE_NAME_BYTES - 1);
    entry->name[MP_TRACE_NAME_BYTES - 1] = 0;
    __atomic_store_n(&entry->pid, pid, __ATOMIC_RELEASE);
}

uint64_t mp_trace_appended(const void *region) {
    return __atomic_load_n(&((const trace_header *)region)->next, __ATOMIC_ACQUIRE);
}

uint64_t mp_trace_dropped(const void *region) {
    return __atomic_load_n(&((const trace_header *)region)->dropped, __ATOMIC_ACQUIRE);
}

uint64_t mp_trace_capacity(const void *region) { return ((const trace_header *)region)->capacity; }
pid_t mp_trace_owner(const void *region) { return ((const trace_header *)region)->owner; }
int64_t mp_trace_start(const void *region) { return ((const trace_header *)region)->start; }
int mp_trace_uses_tsc(const void *region) { return ((const trace_header *)region)->use_tsc; }

uint64_t mp_trace_slots(const void *region) {
    const trace_header *header = region;
    uint64_t claimed = __atomic_load_n(&header->next, __ATOMIC_ACQUIRE);
    return claimed < header->capacity ? claimed : header->capacity;
}

uint64_t mp_trace_life_slots(const void *region) {
    uint64_t claimed = __atomic_load_n(&((const trace_header *)region)->next_life, __ATOMIC_ACQUIRE);
    return claimed < MP_TRACE_LIFE ? claimed : MP_TRACE_LIFE;
}

static int read_slot(const void *region, const mp_trace_record *record, mp_trace_record *out) {
    const trace_header *header = region;
    uint16_t kind = __atomic_load_n(&record->kind, __ATOMIC_ACQUIRE);
    if (kind == 0) return 0;
    *out = *record;
    out->kind = kind;
    if (header->use_tsc) {
        // On the line through the two anchors (before mp_trace_seal: one tick, one nanosecond).
        double span = (double)(int64_t)(header->tsc_stop - header->tsc_start);
        double scale = header->stop > header->start && span > 0 ? (double)(header->stop - header->start) / span : 1;
        double ticks = (double)(int64_t)((uint64_t)record->nanoseconds - header->tsc_start);
        out->nanoseconds = header->start + (int64_t)(ticks * scale);
        if ((kind & 0xFF) == MP_TRACE_ACTION_HELD) {
            int64_t held = (int64_t)((double)mp_trace_held_duration(out) * scale);
            if (held > MP_TRACE_HELD_MAX) held = MP_TRACE_HELD_MAX;
            out->argument = (int32_t)(uint32_t)held;
            out->spare = (uint16_t)(held >> 32);
        }
    }
    return 1;
}

int mp_trace_read(const void *region, uint64_t index, mp_trace_record *out) {
    return read_slot(region, &records(region)[index], out);
}

int mp_trace_read_life(const void *region, uint64_t index, mp_trace_record *out) {
    const trace_header *header = region;
    return read_slot(region, &records(region)[header->capacity + index], out);
}

uint64_t mp_trace_name_count(const void *region) {
    const trace_header *header = region;
    uint64_t count = __atomic_load_n(&header->next_name, __ATOMIC_ACQUIRE);
    return count < header->names ? count : header->names;
}

pid_t mp_trace_name_at(const void *region, uint64_t index, const char **name) {
    const trace_name *entry = &name_table(region)[index];
    pid_t pid = __atomic_load_n(&entry->pid, __ATOMIC_ACQUIRE);
    *name = entry->name;
    return pid;
}

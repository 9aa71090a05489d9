// The trace region: a header, then fixed-size records, then process names, in one shared mapping
// that every process forked after the trace started inherits. Writers never wait and never block
// one another: a thread claims a block of slots with one atomic fetch-add on the shared index and
// fills it alone, so the shared cache line is touched once per block, not once per record.
#include "CMultiprocessingShims.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MP_TRACE_MAGIC 0x4D50545241434531ULL  // "MPTRACE1"
#define MP_TRACE_NAME_BYTES 60

typedef struct {
    uint64_t magic;
    uint64_t capacity;
    uint64_t names;
    int64_t start;
    int32_t owner;
    char pad0[64 - 36];
    uint64_t next;  // on its own cache line: every writer of every process adds to it
    char pad1[56];
    uint64_t next_name;
    char pad2[56];
    uint64_t dropped;  // records that found no slot
    char pad3[56];
} trace_header;

typedef struct {
    int32_t pid;  // written last (release): 0 means empty
    char name[MP_TRACE_NAME_BYTES];
} trace_name;

#define HEADER_BYTES 256
_Static_assert(sizeof(trace_header) <= HEADER_BYTES, "the header fits before the records");

void *mp_trace_region = NULL;

void mp_trace_set_active(void *region) { mp_trace_region = region; }

int64_t mp_trace_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static size_t region_bytes(uint64_t capacity, uint64_t names) {
    return HEADER_BYTES + capacity * sizeof(mp_trace_record) + names * sizeof(trace_name);
}

static mp_trace_record *records(const void *region) {
    return (mp_trace_record *)((char *)region + HEADER_BYTES);
}

static trace_name *name_table(const void *region) {
    const trace_header *header = region;
    return (trace_name *)((char *)region + HEADER_BYTES + header->capacity * sizeof(mp_trace_record));
}

void *mp_trace_create(uint64_t capacity, uint64_t names) {
    void *region = mmap(NULL, region_bytes(capacity, names), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (region == MAP_FAILED) return NULL;
    trace_header *header = region;
    header->magic = MP_TRACE_MAGIC;
    header->capacity = capacity;
    header->names = names;
    header->start = mp_trace_now();
    header->owner = mp_cached_pid();
    return region;
}

void mp_trace_discard(void *region, uint64_t capacity, uint64_t names) {
    madvise(region, region_bytes(capacity, names), MADV_REMOVE);
}

// The calling thread's block of slots: [next, end) of `region`, claimed by process `pid` (a fork
// copies the thread's variables: the child must not fill its parent's block). The slots a thread
// leaves unfilled (it ended, it was killed, the trace stopped) keep kind 0 and are skipped.
#define MP_TRACE_BLOCK 64
static __thread void *block_region;
static __thread pid_t block_pid;
static __thread uint64_t block_next;
static __thread uint64_t block_end;

static void append(void *region, int64_t ns, pid_t pid, pid_t tid, uint16_t kind, uint64_t object,
                   int32_t argument) {
    trace_header *header = region;
    pid_t me = mp_cached_pid();
    if (block_region != region || block_pid != me || block_next >= block_end) {
        uint64_t start = __atomic_fetch_add(&header->next, MP_TRACE_BLOCK, __ATOMIC_RELAXED);
        uint64_t end = start + MP_TRACE_BLOCK;
        if (end > header->capacity) end = header->capacity;
        if (start >= end) {
            __atomic_fetch_add(&header->dropped, 1, __ATOMIC_RELAXED);
            return;
        }
        block_region = region;
        block_pid = me;
        block_next = start;
        block_end = end;
    }
    uint64_t index = block_next++;
    mp_trace_record *record = &records(region)[index];
    record->nanoseconds = ns;
    record->pid = pid;
    record->tid = tid;
    record->object = object;
    record->argument = argument;
    __atomic_store_n(&record->kind, kind, __ATOMIC_RELEASE);
}

void mp_trace_append(void *region, uint16_t kind, uint64_t object, int32_t argument) {
    append(region, mp_trace_now(), mp_cached_pid(), mp_cached_tid(), kind, object, argument);
}

void mp_trace_append_for(void *region, pid_t pid, uint16_t kind, uint64_t object, int32_t argument) {
    append(region, mp_trace_now(), pid, pid, kind, object, argument);
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

int mp_trace_read(const void *region, uint64_t index, mp_trace_record *out) {
    const mp_trace_record *record = &records(region)[index];
    uint16_t kind = __atomic_load_n(&record->kind, __ATOMIC_ACQUIRE);
    if (kind == 0) return 0;
    *out = *record;
    out->kind = kind;
    return 1;
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

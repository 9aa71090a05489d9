#define _GNU_SOURCE
#include "CMultiprocessingShims.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

int mp_wexitstatus(int status) { return WEXITSTATUS(status); }
int mp_wifsignaled(int status) { return WIFSIGNALED(status); }
int mp_wtermsig(int status) { return WTERMSIG(status); }

int mp_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    // pidfd_open returns a close-on-exec descriptor.
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int mp_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0); }

int mp_affinity_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    return CPU_COUNT(&set);
}

pid_t mp_gettid(void) { return (pid_t)syscall(SYS_gettid); }

int mp_errno(void) { return errno; }

const char *mp_signal_name(int sig) {
    switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    default: return NULL;
    }
}

static int set_disposition(int sig, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    return sigaction(sig, &action, NULL);
}

int mp_signal_ignore(int sig) { return set_disposition(sig, SIG_IGN); }
int mp_signal_default(int sig) { return set_disposition(sig, SIG_DFL); }

int mp_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

#include <stdio.h>
int mp_set_stdout_buffering(int mode) {
    // Only valid before the first output on stdout (C's rule; glibc misbehaves after it).
    return setvbuf(stdout, NULL, mode, mode == _IONBF ? 0 : BUFSIZ);
}

int mp_reopen_stdout(void) {
    fflush(stdout);
    FILE *fresh = fdopen(1, "w");
    if (fresh == NULL) return -1;
    stdout = fresh;  // glibc documents stdout as an ordinary, assignable variable.
    return 0;
}

int mp_eventfd_cloexec(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

static void ignore_signal_in_handler(int sig) { (void)sig; }

int mp_signal_catch_and_ignore(int sig) {
    // No SA_RESTART: blocking calls return EINTR, which is what the runtime must survive.
    return set_disposition(sig, ignore_signal_in_handler);
}

// ---- Process-shared synchronization ----
#include <linux/futex.h>
#include <pthread.h>

int mp_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *relative) {
    // FUTEX_WAIT's timeout is relative and measured on CLOCK_MONOTONIC.
    return (int)syscall(SYS_futex, word, FUTEX_WAIT, expected, relative, NULL, 0);
}

int mp_futex_wake(uint32_t *word, int count) {
    return (int)syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}

int mp_mutex_init_shared_robust(pthread_mutex_t *mutex) {
    pthread_mutexattr_t attributes;
    int error = pthread_mutexattr_init(&attributes);
    if (error != 0) return error;
    if ((error = pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED)) == 0 &&
        (error = pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST)) == 0 &&
        (error = pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ERRORCHECK)) == 0) {
        error = pthread_mutex_init(mutex, &attributes);
    }
    pthread_mutexattr_destroy(&attributes);
    return error;
}

int mp_mutex_lock_until_monotonic(pthread_mutex_t *mutex, const struct timespec *deadline) {
    return pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, deadline);
}

static pid_t cached_pid;
static __thread pid_t cached_tid;

static void refresh_after_fork(void) {
    // The child has one thread, the one that forked: its old tid and the parent's pid are stale.
    cached_pid = getpid();
    cached_tid = 0;
}

__attribute__((constructor)) static void install_id_cache(void) {
    cached_pid = getpid();
    pthread_atfork(NULL, NULL, refresh_after_fork);
}

pid_t mp_cached_pid(void) { return cached_pid; }

pid_t mp_cached_tid(void) {
    if (cached_tid == 0) cached_tid = (pid_t)syscall(SYS_gettid);
    return cached_tid;
}

// ---- Pool: descriptor passing, child-exit descriptor ----
#include <sys/signalfd.h>
#include <sys/socket.h>

ssize_t mp_send_with_descriptor(int sock, const void *bytes, size_t count, int fd) {
    struct iovec iov = { .iov_base = (void *)bytes, .iov_len = count };
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int))]; } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        message.msg_control = control.space;
        message.msg_controllen = sizeof control.space;
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &fd, sizeof(int));
    }
    return sendmsg(sock, &message, MSG_NOSIGNAL);
}

ssize_t mp_receive_with_descriptor(int sock, void *bytes, size_t count, int *fd, int dont_wait) {
    struct iovec iov = { .iov_base = bytes, .iov_len = count };
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int) * 4)]; } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.space;
    message.msg_controllen = sizeof control.space;
    *fd = -1;
    ssize_t got = recvmsg(sock, &message, MSG_CMSG_CLOEXEC | (dont_wait ? MSG_DONTWAIT : 0));
    if (got < 0) return got;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int fds[4];
        size_t n = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        if (n > 4) n = 4;
        memcpy(fds, CMSG_DATA(header), n * sizeof(int));
        for (size_t i = 0; i < n; i++) {
            if (*fd < 0) *fd = fds[i]; else close(fds[i]);  // only one is expected; never leak extras
        }
    }
    return got;
}

int mp_child_exit_descriptor(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

// ---- The async forms' reactor ----
#include <sys/epoll.h>

int mp_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int mp_epoll_watch(int epfd, int fd, uint64_t token, int rearm) {
    struct epoll_event event = { .events = EPOLLIN | EPOLLONESHOT, .data = { .u64 = token } };
    return epoll_ctl(epfd, rearm ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event);
}

int mp_epoll_forget(int epfd, int fd) {
    struct epoll_event unused = { 0 };  // kernels before 2.6.9 want a non-null pointer
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &unused);
}

int mp_epoll_wait(int epfd, uint64_t *tokens, int max, int timeout_ms) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int count = epoll_wait(epfd, events, max, timeout_ms);
    for (int i = 0; i < count; i++) tokens[i] = events[i].data.u64;
    return count;
}

// ---- The fork gate ----
#include <stdatomic.h>
#include <stdlib.h>

static pthread_rwlock_t fork_gate = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static __thread int fork_gate_held;
static atomic_int fork_gate_threads;

void mp_fork_gate_enter(void) {
    if (fork_gate_held) return;
    pthread_rwlock_rdlock(&fork_gate);
    fork_gate_held = 1;
}

void mp_fork_gate_leave(void) {
    if (!fork_gate_held) return;
    fork_gate_held = 0;
    pthread_rwlock_unlock(&fork_gate);
}

void mp_fork_gate_thread_began(void) {
    atomic_fetch_add(&fork_gate_threads, 1);
    mp_fork_gate_enter();
}

void mp_fork_gate_thread_ending(void) {
    mp_fork_gate_leave();
    atomic_fetch_sub(&fork_gate_threads, 1);
}

int mp_fork_gate_threads(void) { return atomic_load(&fork_gate_threads); }

int mp_fork_gate_held(void) { return fork_gate_held; }

int mp_fork_gate_close(const struct timespec *deadline) {
    return pthread_rwlock_clockwrlock(&fork_gate, CLOCK_MONOTONIC, deadline);
}

void mp_fork_gate_open(void) { pthread_rwlock_unlock(&fork_gate); }

static void fork_gate_after_fork_in_child(void) {
    // The child has one thread, the one that forked, and it is no runtime thread there (a pool's
    // zygote, a child started from a pool's callback): a fresh gate, nobody in it.
    pthread_rwlock_t fresh = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    fork_gate = fresh;
    fork_gate_held = 0;
    atomic_store(&fork_gate_threads, 0);
}

__attribute__((constructor)) static void install_fork_gate_reset(void) {
    pthread_atfork(NULL, NULL, fork_gate_after_fork_in_child);
}

int mp_never_threaded(void) { return __libc_single_threaded ? 1 : 0; }

// A call through the PLT is bound at its first call in a process: the dynamic linker looks the
// symbol up in its tables and writes the GOT. A call a parent never makes (a child's _exit and
// dup2, and open and close in a parent that has not opened a file yet) is thus looked up again in
// every child, which faults in the linker's pages: about a dozen page faults per child, a third of
// what a small child costs. A function's address stored in data is bound when the program loads,
// and a call through it binds nothing (volatile: the compiler must call through the pointer, not
// turn it back into a PLT call).
static void (*volatile exit_function)(int) = _exit;
static int (*volatile open_function)(const char *, int, ...) = open;
static int (*volatile dup2_function)(int, int) = dup2;
static int (*volatile close_function)(int) = close;

void mp_exit_now(int status) {
    exit_function(status);
    __builtin_unreachable();
}

void mp_redirect_stdin_to_dev_null(void) {
    int fd = open_function("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    if (fd != 0) {
        dup2_function(fd, 0);  // dup2 clears close-on-exec on the new descriptor, as stdin should be
        close_function(fd);
    }
}

void mp_bind_zygote_calls(void) {
    int signal = 0;
    prctl(PR_GET_PDEATHSIG, &signal, 0, 0, 0);
    struct sigaction action;
    sigaction(SIGCHLD, NULL, &action);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    signalfd(-1, &set, -1);  // flags the kernel refuses (EINVAL) before it makes a descriptor
}

int mp_thread_count(void) {
    char buffer[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t length = read(fd, buffer, sizeof buffer - 1);
    close(fd);
    if (length <= 0) return -1;
    buffer[length] = 0;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields count from the
    // last ')'. num_threads is field 20; the state, field 3, is the first after it.
    char *field = strrchr(buffer, ')');
    if (field == NULL) return -1;
    for (int number = 3; number <= 20; number++) {
        while (*field != 0 && *field != ' ') field++;
        while (*field == ' ') field++;
        if (*field == 0) return -1;
    }
    return atoi(field);
}

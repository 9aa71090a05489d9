#define _GNU_SOURCE
#include "CSystemShims.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int mp_wifexited(int status) { return WIFEXITED(status); }
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
void mp_set_errno(int value) { errno = value; }

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

static void ignore_signal_in_handler(int sig) { (void)sig; }

int mp_signal_catch_and_ignore(int sig) {
    // No SA_RESTART: blocking calls return EINTR, which is what the runtime must survive.
    return set_disposition(sig, ignore_signal_in_handler);
}

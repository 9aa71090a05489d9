// The few Linux calls and macros that Swift's Glibc module does not import.
// Each wrapper returns what the call returns; errors are left in errno.
#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H

#include <sys/types.h>

// pipe2(fds, O_CLOEXEC): a pipe whose ends close on exec. Returns 0 or -1.
int mp_pipe_cloexec(int fds[2]);

// Wait-status macros (WIFEXITED & co. are macros, invisible to Swift).
int mp_wifexited(int status);
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

// The errno of the calling thread, and a way to set it (errno is a macro).
int mp_errno(void);
void mp_set_errno(int value);

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

#endif

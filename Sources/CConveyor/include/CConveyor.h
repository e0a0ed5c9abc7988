// Thin wrappers for the few Linux calls Swift cannot make directly.
// Each returns what the kernel returns; on failure -1 with errno set,
// except where noted. Nothing here holds state or makes decisions.
#ifndef CCONVEYOR_H
#define CCONVEYOR_H

#include <stdint.h>
#include <sys/types.h>

/// futex(FUTEX_WAIT) on `word` while it holds `expected`, for at most
/// `timeout_ns` nanoseconds (negative: no timeout). `shared` selects a
/// cross-process futex (0: FUTEX_PRIVATE_FLAG). Returns 0 when woken,
/// -1 with errno EAGAIN (value changed), ETIMEDOUT or EINTR.
int cconveyor_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns, int shared);

/// futex(FUTEX_WAKE): wakes up to `count` waiters. Returns how many were woken.
int cconveyor_futex_wake(uint32_t *word, int count, int shared);

/// memfd_create(name, MFD_ALLOW_SEALING, plus MFD_CLOEXEC if cloexec).
int cconveyor_memfd_create(const char *name, int cloexec);

/// fcntl(F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL): the file's
/// size can no longer change, for anyone.
int cconveyor_seal_size(int fd);

/// pidfd_open(pid, 0).
int cconveyor_pidfd_open(pid_t pid);

/// prctl(PR_SET_PDEATHSIG, signal).
int cconveyor_set_parent_death_signal(int signal);

/// prctl(PR_SET_NAME, name): the calling thread's name (15 bytes at most;
/// the main thread's is the process's comm, as `top` and `pgrep` show it).
int cconveyor_set_thread_name(const char *name);

/// The calling thread's errno.
int cconveyor_errno(void);

/// Reads CLOCK_MONOTONIC in nanoseconds.
int64_t cconveyor_monotonic_ns(void);

/// WIFEXITED / WEXITSTATUS / WIFSIGNALED / WTERMSIG as functions.
int cconveyor_wifexited(int status);
int cconveyor_wexitstatus(int status);
int cconveyor_wifsignaled(int status);
int cconveyor_wtermsig(int status);

/// CPU seconds (user + system) of this process (thread = 0) or the calling thread (thread = 1).
double cconveyor_cpu_seconds(int thread);

/// The processor's spin-wait hint (pause on x86, yield on arm).
void cconveyor_cpu_relax(void);

#endif

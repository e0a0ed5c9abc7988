// Thin wrappers for the few Linux calls Swift cannot make directly.
// Each returns what the kernel returns; on failure -1 with errno set,
// except where noted. Nothing here holds state or makes decisions.
#ifndef CCONVEYOR_H
#define CCONVEYOR_H

#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/types.h>

/// futex(FUTEX_WAIT) on `word` while it holds `expected`, for at most
/// `timeout_ns` nanoseconds (negative: no timeout). `shared` selects a
/// cross-process futex (0: FUTEX_PRIVATE_FLAG). Returns 0 when woken,
/// -1 with errno EAGAIN (value changed), ETIMEDOUT or EINTR.
int cconveyor_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns, int shared);

/// futex(FUTEX_WAKE): wakes up to `count` waiters. Returns how many were woken.
int cconveyor_futex_wake(uint32_t *word, int count, int shared);

/// futex_waitv on two words: sleeps while the shared (cross-process) word
/// holds `shared_expected` and the process-private word holds
/// `private_expected`, for at most `timeout_ns` (negative: no timeout).
/// Returns the index of the word that woke it, or -1 with errno EAGAIN (a
/// word no longer held its value), ETIMEDOUT, EINTR or ENOSYS.
int cconveyor_futex_wait_either(uint32_t *shared_word, uint32_t shared_expected,
                                uint32_t *private_word, uint32_t private_expected, int64_t timeout_ns);

/// epoll_create1(EPOLL_CLOEXEC).
int cconveyor_epoll_create(void);

/// epoll_ctl(EPOLL_CTL_ADD) of `fd` for EPOLLIN, with `fd` as its data.
int cconveyor_epoll_add(int epoll_fd, int fd);

/// epoll_ctl(EPOLL_CTL_DEL) of `fd`.
int cconveyor_epoll_remove(int epoll_fd, int fd);

/// memfd_create(name, MFD_ALLOW_SEALING, plus MFD_CLOEXEC if cloexec).
int cconveyor_memfd_create(const char *name, int cloexec);

/// fcntl(F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL): the file's
/// size can no longer change, for anyone.
int cconveyor_seal_size(int fd);

/// pidfd_open(pid, 0).
int cconveyor_pidfd_open(pid_t pid);

/// prctl(PR_SET_NAME, name): the calling thread's name (15 bytes at most;
/// the main thread's is the process's comm, as `top` and `pgrep` show it).
int cconveyor_set_thread_name(const char *name);

/// The calling thread's errno.
int cconveyor_errno(void);

/// Reads CLOCK_MONOTONIC in nanoseconds.
int64_t cconveyor_monotonic_ns(void);

/// WIFEXITED / WEXITSTATUS / WTERMSIG as functions.
int cconveyor_wifexited(int status);
int cconveyor_wexitstatus(int status);
int cconveyor_wtermsig(int status);


/// The processor's spin-wait hint (pause on x86, yield on arm).
void cconveyor_cpu_relax(void);

/// sched_setaffinity for the calling thread: it runs on `processor` only. 0, or -1 with errno.
int cconveyor_pin_thread(int processor);

/// Writes `count` copies of the 32-bit `value` from `start` (4-byte aligned).
/// On x86-64 with the processor's string store (`rep stosl`), which current
/// processors run as whole-line writes that skip reading the lines first, as
/// glibc's memset and memcpy do for large sizes; elsewhere with a loop. The
/// benchmark's producers fill their items with it, as NumPy's producers fill
/// theirs with its own vector code.
void cconveyor_fill_32(void *start, size_t count, uint32_t value);

/// madvise(MADV_POPULATE_WRITE): maps every page of [base, base + size)
/// writable now. 0, or -1 with errno (EINVAL before Linux 5.14).
int cconveyor_populate_write(void *base, size_t size);

// Forks (fork_safety.c).

/// How many forks separate this process from the one that loaded the
/// library: 0 there, bumped in the child of every fork().
unsigned long cconveyor_fork_generation(void);

/// A lock for making per-process objects again after a fork; never held
/// in a forked child at its start.
void cconveyor_fork_lock(void);
void cconveyor_fork_unlock(void);

/// Counts a thread about to be started as busy: a fork waits (at most 5 s)
/// until every counted thread is quiet, that is, blocked in one of the
/// quiet waits below. Call before creating the thread.
void cconveyor_quiet_thread_starting(void);

/// Stops counting a thread: call as it ends, or when it could not be created.
void cconveyor_quiet_thread_ended(void);

/// epoll_wait for up to `capacity` (at most 64) events, quiet while
/// blocked (a counted thread only); writes each ready descriptor to
/// `ready_fds` and returns how many (or -1 with errno).
int cconveyor_epoll_wait_quietly(int epoll_fd, int *ready_fds, int capacity, int timeout_ms);

/// poll(fds, count, timeout_ms), quiet while blocked (a counted thread only).
int cconveyor_poll_quietly(struct pollfd *fds, unsigned long count, int timeout_ms);

/// 1 in a forked child whose fork found a counted thread of the parent
/// still busy after the wait (it may have inherited a lock held), else 0.
int cconveyor_forked_while_busy(void);

// The SIGBUS guard (fault_guard.c): see SegmentGuard.swift.

/// Registers the mapping [base, base + size): a SIGBUS there maps zero pages
/// over all of it and stores 1 into `*flag`. Installs the process's SIGBUS
/// handler on first use. Returns the entry (for remove), or -1 when the
/// handler cannot be installed or all 1024 entries are taken.
int cconveyor_guard_add(void *base, size_t size, uint32_t *flag);

/// Unregisters an entry returned by cconveyor_guard_add (before unmapping).
void cconveyor_guard_remove(int entry);

/// mmap(base, size, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS): zero pages over a mapping.
int cconveyor_map_zeros(void *base, size_t size);

/// fcntl(F_GET_SEALS): the file's seals, or -1 (EINVAL for a file that cannot be sealed).
int cconveyor_file_seals(int fd);

#endif

#define _GNU_SOURCE
#include "CConveyor.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int cconveyor_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns, int shared) {
    int op = FUTEX_WAIT | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    if (timeout_ns < 0) {
        return (int)syscall(SYS_futex, word, op, expected, NULL, NULL, 0);
    }
    struct timespec ts;
    ts.tv_sec = (time_t)(timeout_ns / 1000000000);
    ts.tv_nsec = (long)(timeout_ns % 1000000000);
    return (int)syscall(SYS_futex, word, op, expected, &ts, NULL, 0);
}

int cconveyor_futex_wake(uint32_t *word, int count, int shared) {
    int op = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    return (int)syscall(SYS_futex, word, op, count, NULL, NULL, 0);
}

int cconveyor_futex_wait_either(uint32_t *shared_word, uint32_t shared_expected,
                                uint32_t *private_word, uint32_t private_expected, int64_t timeout_ns) {
    struct futex_waitv waiters[2] = {
        { .val = shared_expected, .uaddr = (uint64_t)(uintptr_t)shared_word, .flags = FUTEX_32 },
        { .val = private_expected, .uaddr = (uint64_t)(uintptr_t)private_word, .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG },
    };
    if (timeout_ns < 0) {
        return (int)syscall(SYS_futex_waitv, waiters, 2, 0, NULL, CLOCK_MONOTONIC);
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    int64_t nanoseconds = (int64_t)deadline.tv_nsec + timeout_ns % 1000000000;
    deadline.tv_sec += (time_t)(timeout_ns / 1000000000 + nanoseconds / 1000000000);
    deadline.tv_nsec = (long)(nanoseconds % 1000000000);
    return (int)syscall(SYS_futex_waitv, waiters, 2, 0, &deadline, CLOCK_MONOTONIC);
}

int cconveyor_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cconveyor_epoll_add(int epoll_fd, int fd) {
    struct epoll_event event = { .events = EPOLLIN, .data.fd = fd };
    return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

int cconveyor_epoll_remove(int epoll_fd, int fd) {
    return epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

int cconveyor_memfd_create(const char *name, int cloexec) {
    return (int)syscall(SYS_memfd_create, name, MFD_ALLOW_SEALING | (cloexec ? MFD_CLOEXEC : 0));
}

int cconveyor_seal_size(int fd) {
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
}

int cconveyor_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int cconveyor_set_thread_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

int cconveyor_errno(void) { return errno; }

int64_t cconveyor_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int cconveyor_wifexited(int status) { return WIFEXITED(status); }
int cconveyor_wexitstatus(int status) { return WEXITSTATUS(status); }
int cconveyor_wtermsig(int status) { return WTERMSIG(status); }

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int cconveyor_populate_write(void *base, size_t size) {
    return madvise(base, size, MADV_POPULATE_WRITE);
}

void cconveyor_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}


int cconveyor_pin_thread(int processor) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(processor, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

void cconveyor_fill_32(void *start, size_t count, uint32_t value) {
#if defined(__x86_64__)
    __asm__ volatile("rep stosl" : "+D"(start), "+c"(count) : "a"(value) : "memory");
#else
    uint32_t *word = start;
    for (size_t i = 0; i < count; i++) word[i] = value;
#endif
}

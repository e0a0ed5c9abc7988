#define _GNU_SOURCE
#include "CConveyor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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

int cconveyor_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
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
int cconveyor_wifsignaled(int status) { return WIFSIGNALED(status); }
int cconveyor_wtermsig(int status) { return WTERMSIG(status); }

void cconveyor_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

double cconveyor_cpu_seconds(int thread) {
    struct rusage usage;
    if (getrusage(thread ? RUSAGE_THREAD : RUSAGE_SELF, &usage) != 0) return -1;
    return (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
         + (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

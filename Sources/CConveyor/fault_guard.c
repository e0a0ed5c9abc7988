// The SIGBUS guard for shared segments that another process can shrink.
//
// Touching a page of a shared file mapping beyond the file's end raises
// SIGBUS. For each registered mapping, the handler maps anonymous zero pages
// over the whole mapping (mmap MAP_FIXED, async-signal-safe), sets the
// mapping's flag and returns: the faulting access completes on zeros and the
// caller (Swift) turns the flag into an error at its next operation. Faults
// anywhere else go to the disposition that was installed before (the Swift
// runtime's backtracer, or the default action, which ends the process).
//
// This is mechanism only, written in C because a signal handler must be
// async-signal-safe, which Swift code cannot promise: which mappings to
// guard and what the flag means are decided in Sources/Conveyor/System/SegmentGuard.swift.
#define _GNU_SOURCE
#include "CConveyor.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>

#define GUARD_CAPACITY 1024

struct guard {
    _Atomic(uintptr_t) base;
    _Atomic(size_t) size;
    _Atomic(uintptr_t) flag;
};

/// An entry's base while it is being filled (never a mapping's address).
#define CLAIMING ((uintptr_t)1)

static struct guard guards[GUARD_CAPACITY];
static struct sigaction previous;
static atomic_int installed;

int cconveyor_map_zeros(void *base, size_t size) {
    void *result = mmap(base, size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return result == MAP_FAILED ? -1 : 0;
}

static void on_sigbus(int signal_number, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    for (int i = 0; i < GUARD_CAPACITY; i++) {
        uintptr_t base = atomic_load(&guards[i].base);
        if (base == 0 || base == CLAIMING || address - base >= atomic_load(&guards[i].size)) continue;
        cconveyor_map_zeros((void *)base, atomic_load(&guards[i].size));
        uint32_t *flag = (uint32_t *)atomic_load(&guards[i].flag);
        if (flag) __atomic_store_n(flag, 1, __ATOMIC_RELEASE);
        return;
    }
    if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) {
        previous.sa_sigaction(signal_number, info, context);
        return;
    }
    if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN && previous.sa_handler) {
        previous.sa_handler(signal_number);
        return;
    }
    // The default action: returning re-executes the access, which faults again and ends the process.
    struct sigaction fallback = { .sa_handler = SIG_DFL };
    sigemptyset(&fallback.sa_mask);
    sigaction(SIGBUS, &fallback, NULL);
}

int cconveyor_guard_add(void *base, size_t size, uint32_t *flag) {
    if (atomic_exchange(&installed, 1) == 0) {
        struct sigaction action = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
        sigemptyset(&action.sa_mask);
        if (sigaction(SIGBUS, &action, &previous) != 0) {
            atomic_store(&installed, 0);
            return -1;
        }
    }
    for (int i = 0; i < GUARD_CAPACITY; i++) {
        // Reserve a free entry (base 0 -> CLAIMING), fill it, then publish its base.
        uintptr_t expected = 0;
        if (!atomic_compare_exchange_strong(&guards[i].base, &expected, CLAIMING)) continue;
        atomic_store(&guards[i].size, size);
        atomic_store(&guards[i].flag, (uintptr_t)flag);
        atomic_store(&guards[i].base, (uintptr_t)base);
        return i;
    }
    return -1;
}

void cconveyor_guard_remove(int entry) {
    if (entry < 0 || entry >= GUARD_CAPACITY) return;
    atomic_store(&guards[entry].base, 0);
}

int cconveyor_file_seals(int fd) {
    return fcntl(fd, F_GET_SEALS);
}

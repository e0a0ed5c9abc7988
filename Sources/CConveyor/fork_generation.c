// Which fork of the process this is: a counter the child side of every
// fork() bumps (pthread_atfork), and a lock for the few objects that must
// be made again in a forked child (the peer watcher: its thread does not
// run in the child, and its epoll set is the parent's). The lock is made
// anew in the child, so a parent thread holding it at the fork cannot
// leave it held there.
#include "CConveyor.h"

#include <pthread.h>
#include <stdatomic.h>

static atomic_ulong generation;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void in_child(void) {
    atomic_fetch_add_explicit(&generation, 1, memory_order_relaxed);
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    lock = fresh;
}

__attribute__((constructor)) static void register_fork_handler(void) {
    pthread_atfork(NULL, NULL, in_child);
}

unsigned long cconveyor_fork_generation(void) {
    return atomic_load_explicit(&generation, memory_order_acquire);
}

void cconveyor_fork_lock(void) { pthread_mutex_lock(&lock); }

void cconveyor_fork_unlock(void) { pthread_mutex_unlock(&lock); }

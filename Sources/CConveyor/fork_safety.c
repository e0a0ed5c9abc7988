// What Conveyor does about fork(). A fork copies only the forking thread: a
// lock that another thread held at that moment stays held in the child for
// good, and the child waits on it forever the first time it needs it.
//
// 1. Which fork of the process this is: a counter the child side of every
//    fork() bumps, and the fork lock, for the few objects a forked child must
//    make again (the peer watcher: its thread does not run in the child, and
//    its epoll set is the parent's). The lock is made anew in the child, so a
//    parent thread holding it at the fork cannot leave it held there.
//
// 2. Quiet waits. The threads Conveyor starts itself (the peer watcher, a
//    worker's parent-death watch) run Swift code, which may take a lock of
//    the Swift runtime (its metadata cache's, the first time it meets a
//    type), of the allocator or of Conveyor. Such a thread is counted busy
//    from before it is created, and counts itself quiet only inside its
//    blocking wait below, where it runs nothing but this file and holds no
//    lock. fork()'s prepare handler waits until no counted thread is busy
//    (at most QUIET_WAIT_SECONDS) and keeps them from turning busy again
//    until the fork is done, so a child never inherits a lock one of them
//    held. Other threads (the program's own) are the program's business.
#define _GNU_SOURCE
#include "CConveyor.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <time.h>

/// The longest a fork waits for Conveyor's threads to turn quiet; a thread
/// still busy then is blocked on something the forking thread holds.
#define QUIET_WAIT_SECONDS 5

static atomic_ulong generation;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/// Guards `busy_threads`; held by a forking thread from its prepare handler
/// until the fork is done.
static pthread_mutex_t quiet_lock = PTHREAD_MUTEX_INITIALIZER;
/// Signalled when `busy_threads` drops to 0 (on CLOCK_MONOTONIC).
static pthread_cond_t all_quiet;
/// Counted threads outside their quiet waits.
static int busy_threads;
/// Whether the fork under way found a counted thread still busy.
static int fork_found_busy;
/// In a forked child: whether its fork found a thread of the parent busy.
static int forked_while_busy;

static void make_quiet_state(void) {
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    quiet_lock = fresh;
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&all_quiet, &attributes);
    pthread_condattr_destroy(&attributes);
    busy_threads = 0;
}

static void before_fork(void) {
    pthread_mutex_lock(&quiet_lock);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += QUIET_WAIT_SECONDS;
    while (busy_threads > 0) {
        if (pthread_cond_timedwait(&all_quiet, &quiet_lock, &deadline) == ETIMEDOUT) break;
    }
    fork_found_busy = busy_threads > 0;
    // quiet_lock stays held through the fork: no counted thread turns busy before it is done.
}

static void after_fork_in_parent(void) { pthread_mutex_unlock(&quiet_lock); }

static void after_fork_in_child(void) {
    atomic_fetch_add_explicit(&generation, 1, memory_order_relaxed);
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    lock = fresh;
    forked_while_busy = fork_found_busy;
    // No counted thread runs in the child.
    make_quiet_state();
}

__attribute__((constructor)) static void register_fork_handlers(void) {
    make_quiet_state();
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

unsigned long cconveyor_fork_generation(void) {
    return atomic_load_explicit(&generation, memory_order_acquire);
}

void cconveyor_fork_lock(void) { pthread_mutex_lock(&lock); }

void cconveyor_fork_unlock(void) { pthread_mutex_unlock(&lock); }

int cconveyor_forked_while_busy(void) { return forked_while_busy; }

static void turn_busy(void) {
    pthread_mutex_lock(&quiet_lock);
    busy_threads++;
    pthread_mutex_unlock(&quiet_lock);
}

static void turn_quiet(void) {
    pthread_mutex_lock(&quiet_lock);
    if (--busy_threads == 0) pthread_cond_broadcast(&all_quiet);
    pthread_mutex_unlock(&quiet_lock);
}

void cconveyor_quiet_thread_starting(void) { turn_busy(); }

void cconveyor_quiet_thread_ended(void) { turn_quiet(); }

int cconveyor_epoll_wait_quietly(int epoll_fd, int *ready_fds, int capacity, int timeout_ms) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    turn_quiet();
    int count = epoll_wait(epoll_fd, events, capacity, timeout_ms);
    int error = errno;
    turn_busy();
    for (int i = 0; i < count; i++) ready_fds[i] = events[i].data.fd;
    errno = error;
    return count;
}

int cconveyor_poll_quietly(struct pollfd *fds, unsigned long count, int timeout_ms) {
    turn_quiet();
    int result = poll(fds, (nfds_t)count, timeout_ms);
    int error = errno;
    turn_busy();
    errno = error;
    return result;
}

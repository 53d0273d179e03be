/* A persistent fork-join team, the way libgomp runs `#pragma omp parallel for schedule(static)`:
 * workers are created once and pinned, a region is published by bumping a generation counter,
 * members spin on it for a while (GOMP_SPINCOUNT-style) and then sleep on a futex; the end of a
 * region is a sense-reversing counter barrier. */
#define _GNU_SOURCE
#include "CZiggyReferences.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ZR_MAX_THREADS 1024
/* Spin before sleeping. libgomp spins 300000 by default; 20000 pauses (~0.5 ms) cover the gaps
 * between back-to-back regions without leaving a spinning member to compete for a CPU with the
 * library threads that the next (non-team) measurement starts. */
#define ZR_SPIN_COUNT 20000

double zr_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}


static inline void zr_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static long zr_futex(_Atomic unsigned *address, int op, unsigned value) {
    return syscall(SYS_futex, (unsigned *)address, op | FUTEX_PRIVATE_FLAG, value, NULL, NULL, 0);
}

static struct {
    int size;
    int cpus[ZR_MAX_THREADS];
    pthread_t threads[ZR_MAX_THREADS];
    cpu_set_t caller_affinity;
    int caller_pinned;
    /* The region being run. */
    zr_task task;
    void *ctx;
    int active;                       /* members taking part in the region */
    _Atomic unsigned generation;      /* bumped to start a region (futex word) */
    _Atomic int sleepers;             /* members sleeping on `generation` */
    _Atomic int remaining;            /* members still in the region */
    _Atomic unsigned sense;           /* flips when the last member arrives (futex word) */
    _Atomic int stop;
    unsigned first_generation;        /* the generation before the first region of this team */
} team;

static int zr_pin(pthread_t thread, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(thread, sizeof set, &set);
}

/* Waits until *word differs from `seen`: spin, then futex. */
static unsigned zr_wait_change(_Atomic unsigned *word, unsigned seen, _Atomic int *sleepers) {
    unsigned now;
    for (int spin = 0; spin < ZR_SPIN_COUNT; spin++) {
        now = atomic_load_explicit(word, memory_order_acquire);
        if (now != seen) return now;
        zr_pause();
    }
    for (;;) {
        if (sleepers) atomic_fetch_add_explicit(sleepers, 1, memory_order_seq_cst);
        now = atomic_load_explicit(word, memory_order_seq_cst);
        if (now == seen) zr_futex(word, FUTEX_WAIT, seen);
        if (sleepers) atomic_fetch_sub_explicit(sleepers, 1, memory_order_seq_cst);
        now = atomic_load_explicit(word, memory_order_acquire);
        if (now != seen) return now;
    }
}

/* The end-of-region barrier: the last member to arrive flips the sense. */
static void zr_arrive(void) {
    if (atomic_fetch_sub_explicit(&team.remaining, 1, memory_order_acq_rel) == 1) {
        atomic_fetch_add_explicit(&team.sense, 1, memory_order_release);
        zr_futex(&team.sense, FUTEX_WAKE, 1);
    }
}

static void *zr_worker(void *raw) {
    int index = (int)(intptr_t)raw;
    /* Not the current generation: the first region may already have started when this thread runs. */
    unsigned seen = team.first_generation;
    for (;;) {
        seen = zr_wait_change(&team.generation, seen, &team.sleepers);
        if (atomic_load_explicit(&team.stop, memory_order_acquire)) return NULL;
        /* Every member arrives, also those not in the region, so none lags a generation behind. */
        if (index < team.active) team.task(team.ctx, index, team.active);
        zr_arrive();
    }
}

int zr_allowed_cpus(int *cpus, int capacity) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    int count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && count < capacity; cpu++) {
        if (CPU_ISSET(cpu, &set)) cpus[count++] = cpu;
    }
    return count;
}

void zr_static_share(size_t n, int index, int count, size_t *begin, size_t *end) {
    /* libgomp's static schedule without a chunk size: the first n % count members get one more. */
    size_t q = n / (size_t)count, r = n % (size_t)count;
    size_t i = (size_t)index;
    size_t start = i * q + (i < r ? i : r);
    *begin = start;
    *end = start + q + (i < r ? 1 : 0);
}

int zr_team_start(int threads, const int *cpus) {
    if (team.size > 0) zr_team_stop();
    if (threads < 1 || threads > ZR_MAX_THREADS) return -EINVAL;
    memset(team.cpus, 0, sizeof team.cpus);
    for (int i = 0; i < threads; i++) team.cpus[i] = cpus[i];
    atomic_store(&team.stop, 0);
    atomic_store(&team.remaining, 0);
    // The caller is member 0 but is pinned only while C samples run (zr_team_pin_caller): a
    // thread left pinned to one CPU would narrow what the library, measured on the same thread,
    // may use (it honours the affinity it inherits, as it must under a launcher's binding).
    team.caller_pinned = 0;
    team.size = 1;
    team.first_generation = atomic_load(&team.generation);
    for (int i = 1; i < threads; i++) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpus[i], &set);
        pthread_attr_setaffinity_np(&attr, sizeof set, &set);
        int rc = pthread_create(&team.threads[i], &attr, zr_worker, (void *)(intptr_t)i);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            zr_team_stop();
            return -rc;
        }
        team.size = i + 1;
    }
    return 0;
}

int zr_team_size(void) { return team.size; }

int zr_team_cpu(int index) { return index >= 0 && index < team.size ? team.cpus[index] : -1; }

void zr_team_run(int threads, zr_task task, void *ctx) {
    if (threads <= 1 || team.size <= 1) {
        task(ctx, 0, 1);
        return;
    }
    if (threads > team.size) threads = team.size;
    team.task = task;
    team.ctx = ctx;
    team.active = threads;
    atomic_store_explicit(&team.remaining, team.size, memory_order_relaxed);
    unsigned sense = atomic_load_explicit(&team.sense, memory_order_relaxed);
    atomic_fetch_add_explicit(&team.generation, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&team.sleepers, memory_order_seq_cst) > 0) zr_futex(&team.generation, FUTEX_WAKE, ZR_MAX_THREADS);
    task(ctx, 0, threads);
    zr_arrive();
    zr_wait_change(&team.sense, sense, NULL);
}

void zr_team_pin_caller(int pinned) {
    if (pinned && !team.caller_pinned && team.size > 0) {
        if (sched_getaffinity(0, sizeof team.caller_affinity, &team.caller_affinity) != 0) return;
        zr_pin(pthread_self(), team.cpus[0]);
        team.caller_pinned = 1;
    } else if (!pinned && team.caller_pinned) {
        sched_setaffinity(0, sizeof team.caller_affinity, &team.caller_affinity);
        team.caller_pinned = 0;
    }
}

void zr_team_stop(void) {
    if (team.size > 1) {
        atomic_store_explicit(&team.stop, 1, memory_order_release);
        atomic_fetch_add_explicit(&team.generation, 1, memory_order_seq_cst);
        zr_futex(&team.generation, FUTEX_WAKE, ZR_MAX_THREADS);
        for (int i = 1; i < team.size; i++) pthread_join(team.threads[i], NULL);
    }
    if (team.caller_pinned) sched_setaffinity(0, sizeof team.caller_affinity, &team.caller_affinity);
    team.caller_pinned = 0;
    team.size = 0;
}

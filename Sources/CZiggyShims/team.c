#define _GNU_SOURCE
#include "zg_team.h"

#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ZG_ATOMIC(word) ((_Atomic uint32_t *)&(word)->value)
#define ZG_SLEEPERS(word) ((_Atomic uint32_t *)&(word)->sleepers)

// Sleeper counting without lost wake-ups: a sleeper counts itself, then re-reads the value
// (both seq_cst); a waker stores the value, then reads the count (both seq_cst). In the single
// total order either the waker sees the sleeper or the sleeper sees the new value — and the
// kernel re-checks the value inside FUTEX_WAIT, so a sleeper never misses it.
// The futex system calls every team in the process has made (see zg_team_futex_calls): counted
// on the sleeping path only, where the call itself costs a microsecond or more, so a spinning
// region pays nothing for them.
static _Atomic uint64_t zg_futex_wait_calls = 0;
static _Atomic uint64_t zg_futex_wake_calls = 0;

static void zg_futex_wait(const zg_word *word, uint32_t seen) {
    zg_word *mutable_word = (zg_word *)word;
    atomic_fetch_add_explicit(ZG_SLEEPERS(mutable_word), 1, memory_order_seq_cst);
    if (atomic_load_explicit(ZG_ATOMIC(word), memory_order_seq_cst) == seen) {
        atomic_fetch_add_explicit(&zg_futex_wait_calls, 1, memory_order_relaxed);
        syscall(SYS_futex, &mutable_word->value, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
    }
    atomic_fetch_sub_explicit(ZG_SLEEPERS(mutable_word), 1, memory_order_seq_cst);
}

static void zg_futex_wake_all(zg_word *word) {
    if (atomic_load_explicit(ZG_SLEEPERS(word), memory_order_seq_cst) == 0) return;
    atomic_fetch_add_explicit(&zg_futex_wake_calls, 1, memory_order_relaxed);
    syscall(SYS_futex, &word->value, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void zg_team_futex_calls(uint64_t *waits, uint64_t *wakes) {
    *waits = atomic_load_explicit(&zg_futex_wait_calls, memory_order_relaxed);
    *wakes = atomic_load_explicit(&zg_futex_wake_calls, memory_order_relaxed);
}

static inline void zg_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

uint32_t zg_word_load(const zg_word *word) {
    return atomic_load_explicit(ZG_ATOMIC(word), memory_order_acquire);
}

void zg_word_store_wake(zg_word *word, uint32_t value) {
    atomic_store_explicit(ZG_ATOMIC(word), value, memory_order_seq_cst);
    zg_futex_wake_all(word);
}

uint32_t zg_word_add_wake_at(zg_word *word, uint32_t delta, uint32_t wake_at) {
    uint32_t now = atomic_fetch_add_explicit(ZG_ATOMIC(word), delta, memory_order_seq_cst) + delta;
    if (now == wake_at) zg_futex_wake_all(word);
    return now;
}

uint32_t zg_word_wait_change(const zg_word *word, uint32_t seen, uint32_t spin) {
    for (uint32_t i = 0; i < spin; i++) {
        uint32_t now = atomic_load_explicit(ZG_ATOMIC(word), memory_order_acquire);
        if (now != seen) return now;
        zg_pause();
    }
    for (;;) {
        uint32_t now = atomic_load_explicit(ZG_ATOMIC(word), memory_order_acquire);
        if (now != seen) return now;
        zg_futex_wait(word, seen);
    }
}

void zg_word_wait_equal(const zg_word *word, uint32_t target, uint32_t spin) {
    for (uint32_t i = 0; i < spin; i++) {
        if (atomic_load_explicit(ZG_ATOMIC(word), memory_order_acquire) == target) return;
        zg_pause();
    }
    for (;;) {
        uint32_t now = atomic_load_explicit(ZG_ATOMIC(word), memory_order_acquire);
        if (now == target) return;
        zg_futex_wait(word, now);
    }
}

static __thread const void *zg_current_team = NULL;

void zg_team_set_current(const void *team) { zg_current_team = team; }

const void *zg_team_current(void) { return zg_current_team; }

// The synchronization a fork-join team needs and Swift's Synchronization module does not offer:
// waiting on an atomic word until it changes, spinning first and then sleeping in the kernel
// (futex), the way libgomp's barriers do. Plain C11 atomics, which ThreadSanitizer understands.
#ifndef ZG_TEAM_H
#define ZG_TEAM_H

#include <stdint.h>

/* A futex word and the number of threads sleeping on it, so that a store wakes (a system call)
 * only when someone sleeps: spinning members cost no syscall per region. */
typedef struct zg_word { uint32_t value; uint32_t sleepers; } zg_word;

/// Loads `word` with acquire ordering.
uint32_t zg_word_load(const zg_word *word);
/// Stores `value` with release ordering and wakes every thread waiting on `word`.
void zg_word_store_wake(zg_word *word, uint32_t value);
/// Adds `delta` (release), returns the new value, and wakes the waiters when it reaches `wake_at`.
uint32_t zg_word_add_wake_at(zg_word *word, uint32_t delta, uint32_t wake_at);
/// Waits until `word` is no longer `seen`: spins about `spin` times, then sleeps on a futex.
/// Returns the new value (acquire ordering).
uint32_t zg_word_wait_change(const zg_word *word, uint32_t seen, uint32_t spin);
/// Waits until `word` equals `target`, spinning then sleeping as above.
void zg_word_wait_equal(const zg_word *word, uint32_t target, uint32_t spin);

/// The futex system calls the teams of this process have made so far: FUTEX_WAIT calls (a thread
/// going to sleep on a word, after spinning) and FUTEX_WAKE calls (a store that found sleepers; one
/// call wakes all of them). For tests and benchmarks that count what a region costs the kernel.
void zg_team_futex_calls(uint64_t *waits, uint64_t *wakes);

/// The team the calling thread is a member of (nil outside teams), so that a fork-join called from
/// inside a member runs serially instead of deadlocking.
void zg_team_set_current(const void *team);
const void *zg_team_current(void);

#endif

// CZiggyShims: the few things Swift cannot express directly.
//
// 1. Thread-local statistics shards. An uncontended lock-prefixed read-modify-write costs ~6 ns on
//    the machines this library is measured on, more than a whole glibc malloc+free of 64 bytes, so
//    allocation statistics cannot be plain atomics and stay "as fast as malloc". Each allocator
//    owns one `zg_stats` record: the thread that created the allocator (its owner) updates the
//    `owner_*` fields with plain (relaxed) stores, every other thread uses atomic RMW on the
//    `shared_*` fields. Totals are the sums, so no update is ever lost.
//    Buffers never point at a record (the allocator may be gone when a buffer is freed): they
//    carry the allocator's 64-bit id, and each thread keeps a small direct-mapped cache from id to
//    record, holding a counted reference so a cached record stays valid. The Swift side
//    (StatisticsRegistry) owns the slow paths under a lock.
// 2. A compiler barrier that keeps benchmark results alive.
// 3. Raw system calls the Swift Glibc module does not import (zg_syscalls.h), reached only
//    through ZiggyKernel's seam.
#ifndef CZIGGY_SHIMS_H
#define CZIGGY_SHIMS_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#define ZG_TLS_SLOTS 16

typedef struct zg_stats {
    // Owner thread only (relaxed loads/stores); readers use relaxed loads. Allocations and frees
    // count into separate fields (live = allocated - freed): a free does not write what the next
    // allocation must read back, so a malloc + free loop carries no store-to-load chain through
    // these counters.
    int64_t owner_total_bytes;
    int64_t owner_total_count;
    int64_t owner_freed_bytes;
    int64_t owner_freed_count;
    uint64_t owner_thread;
    // The owner's thread table (zg_current_thread of the owner; never NULL): the fast paths'
    // owner test compares the calling thread's table pointer with it — one TLS load and one
    // compare, no load through the table. A table is freed (thread exit) and allocated (a new
    // thread's first use) under the registry's lock, so a later thread that gets the same address
    // sees every plain store the dead owner made, and is then the only thread writing the owner
    // fields.
    const void *owner_table;
    int64_t pad0[2];
    // Any other thread (atomic read-modify-write).
    int64_t shared_total_bytes;
    int64_t shared_total_count;
    int64_t shared_freed_bytes;
    int64_t shared_freed_count;
    int64_t peak_bytes;
    int64_t pad1[3];
    // Managed by the Swift registry under its lock.
    uint64_t id;
    int64_t references;
} zg_stats;

typedef struct zg_tls_slot {
    uint64_t id;
    zg_stats *stats;
    /// Whether this thread is the record's owner (decided once, when the slot is filled).
    uint64_t owner;
} zg_tls_slot;

typedef struct zg_thread {
    uint64_t thread_id;
    zg_tls_slot slots[ZG_TLS_SLOTS];
} zg_thread;

typedef struct zg_stats_snapshot {
    int64_t live_bytes;
    int64_t live_count;
    int64_t total_bytes;
    int64_t total_count;
    int64_t peak_bytes;
} zg_stats_snapshot;

// The calling thread's shard table, or NULL before its first use (initial-exec TLS: one load).
extern __thread zg_thread *zg_current_thread __attribute__((tls_model("initial-exec")));

static inline zg_thread *zg_thread_get(void) { return zg_current_thread; }
static inline void zg_thread_set(zg_thread *t) { zg_current_thread = t; }

static inline bool zg_is_owner(const zg_stats *s) { return (const void *)zg_current_thread == s->owner_table; }

#define ZG_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ZG_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ZG_ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)

static inline void zg_stats_raise_peak(zg_stats *s, int64_t live) {
    int64_t peak = ZG_LOAD(&s->peak_bytes);
    while (live > peak &&
           !__atomic_compare_exchange_n(&s->peak_bytes, &peak, live, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

/// Counts an allocation by an allocator that allocates on one thread at a time (an arena): its
/// allocations always take the owner fields, which no other thread writes, so no thread check is
/// needed (frees still choose by thread, and only touch the `freed` fields).
static inline void zg_stats_allocated_serial(zg_stats *s, int64_t bytes) {
    int64_t total = ZG_LOAD(&s->owner_total_bytes) + bytes;
    ZG_STORE(&s->owner_total_bytes, total);
    ZG_STORE(&s->owner_total_count, ZG_LOAD(&s->owner_total_count) + 1);
    zg_stats_raise_peak(s, total - ZG_LOAD(&s->owner_freed_bytes) + ZG_LOAD(&s->shared_total_bytes) -
                               ZG_LOAD(&s->shared_freed_bytes));
}

static inline void zg_stats_allocated(zg_stats *s, int64_t bytes) {
    int64_t live;
    if (zg_is_owner(s)) {
        int64_t total = ZG_LOAD(&s->owner_total_bytes) + bytes;
        ZG_STORE(&s->owner_total_bytes, total);
        ZG_STORE(&s->owner_total_count, ZG_LOAD(&s->owner_total_count) + 1);
        live = total - ZG_LOAD(&s->owner_freed_bytes);
    } else {
        ZG_ADD(&s->shared_total_count, 1);
        live = ZG_ADD(&s->shared_total_bytes, bytes) - ZG_LOAD(&s->shared_freed_bytes);
        live += ZG_LOAD(&s->owner_total_bytes) - ZG_LOAD(&s->owner_freed_bytes);
        zg_stats_raise_peak(s, live);
        return;
    }
    live += ZG_LOAD(&s->shared_total_bytes) - ZG_LOAD(&s->shared_freed_bytes);
    zg_stats_raise_peak(s, live);
}

// Frees publish with release ordering and readers load them with acquire ordering (both free on
// x86-64): a reader that sees a free then also sees the allocation it frees, which happened
// before it, so a snapshot never shows fewer than zero live bytes.
static inline void zg_stats_freed_as(zg_stats *s, int64_t bytes, bool owner) {
    if (owner) {
        __atomic_store_n(&s->owner_freed_count, ZG_LOAD(&s->owner_freed_count) + 1, __ATOMIC_RELEASE);
        __atomic_store_n(&s->owner_freed_bytes, ZG_LOAD(&s->owner_freed_bytes) + bytes, __ATOMIC_RELEASE);
    } else {
        __atomic_add_fetch(&s->shared_freed_count, 1, __ATOMIC_RELEASE);
        __atomic_add_fetch(&s->shared_freed_bytes, bytes, __ATOMIC_RELEASE);
    }
}

static inline void zg_stats_freed(zg_stats *s, int64_t bytes) { zg_stats_freed_as(s, bytes, zg_is_owner(s)); }

/// Counts a free for the record cached under `id` on this thread; false on a cache miss (the
/// caller resolves the record on its slow path).
static inline bool zg_stats_freed_cached(uint64_t id, int64_t bytes) {
    zg_thread *t = zg_current_thread;
    if (__builtin_expect(t != NULL, 1)) {
        zg_tls_slot *slot = &t->slots[id & (ZG_TLS_SLOTS - 1)];
        if (__builtin_expect(slot->id == id, 1)) {
            zg_stats_freed_as(slot->stats, bytes, slot->owner != 0);
            return true;
        }
    }
    return false;
}

static inline zg_stats_snapshot zg_stats_read(const zg_stats *s) {
    zg_stats_snapshot r;
    // Frees first, with acquire ordering (see zg_stats_freed_as).
    int64_t freed_bytes = __atomic_load_n(&s->owner_freed_bytes, __ATOMIC_ACQUIRE) +
                          __atomic_load_n(&s->shared_freed_bytes, __ATOMIC_ACQUIRE);
    int64_t freed_count = __atomic_load_n(&s->owner_freed_count, __ATOMIC_ACQUIRE) +
                          __atomic_load_n(&s->shared_freed_count, __ATOMIC_ACQUIRE);
    r.total_bytes = ZG_LOAD(&s->owner_total_bytes) + ZG_LOAD(&s->shared_total_bytes);
    r.total_count = ZG_LOAD(&s->owner_total_count) + ZG_LOAD(&s->shared_total_count);
    r.live_bytes = r.total_bytes - freed_bytes;
    r.live_count = r.total_count - freed_count;
    r.peak_bytes = ZG_LOAD(&s->peak_bytes);
    return r;
}

/// Reference counting of records, done under the registry's lock. Field-exact accesses (not a
/// copy of the whole record) so ThreadSanitizer does not mistake them for races with the
/// counters other threads update at the same time.
static inline void zg_stats_retain(zg_stats *s) { s->references += 1; }
static inline int64_t zg_stats_release(zg_stats *s) { return --s->references; }
static inline uint64_t zg_stats_id(const zg_stats *s) { return s->id; }
static inline uint64_t zg_stats_owner(const zg_stats *s) { return s->owner_thread; }

/// Allocates a new thread id (never reused, never 0).
uint64_t zg_next_thread_id(void);

#include "zg_syscalls.h"
#include "zg_team.h"

static inline void zg_compiler_barrier(void) { __asm__ volatile("" : : : "memory"); }

#undef ZG_LOAD
#undef ZG_STORE
#undef ZG_ADD

#endif

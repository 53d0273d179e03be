/* CZiggyReferences - the outside references ziggy-bench measures the library against, written
 * and compiled the way a C user writes and builds them (-O3 -march=native, see Package.swift).
 * Not a product: only the ziggy-bench executable links it.
 *
 * Every timed function returns seconds (>= 0) or a negative errno when the memory could not be had. */
#ifndef CZIGGY_REFERENCES_H
#define CZIGGY_REFERENCES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Monotonic seconds. */
double zr_now(void);

/* ---- Fork-join team (OpenMP-style, libgomp-like) --------------------------------------------
 * `zr_team_start(n, cpus)` starts n - 1 persistent worker threads, pins worker i to cpus[i] and
 * the calling thread (member 0) to cpus[0] while zr_team_pin_caller(1) holds; a region is `zr_team_run(k, task, ctx)`: members
 * 0..k-1 each call task(ctx, index, k) once (the caller is member 0), then all wait at a
 * sense-reversing barrier. Idle members spin briefly (~0.5 ms, like GOMP_SPINCOUNT) and then sleep on a futex.
 * One team per process; start, run and stop from the same thread. */
typedef void (*zr_task)(void *ctx, int index, int count);
int zr_team_start(int threads, const int *cpus);
int zr_team_size(void);
int zr_team_cpu(int index);
void zr_team_run(int threads, zr_task task, void *ctx);
void zr_team_stop(void);
/* Pins the calling thread (member 0) to cpus[0] (1), or gives it back the affinity it had (0). */
void zr_team_pin_caller(int pinned);
/* An empty region on the team; an empty "region" of pthread_create + join of threads - 1 threads
 * (returns the threads that ran); the sum of a[0..<n) over the team, each member a SIMD sum of its
 * static share (`#pragma omp simd reduction(+:sum)`). */
void zr_team_empty_region(int threads);
int zr_pthread_region(int threads);
double zr_sum_range(const double *a, size_t begin, size_t end);
double zr_team_sum(const double *a, size_t n, int threads);
/* The CPUs this thread may run on (sched_getaffinity), in ascending order; returns how many. */
int zr_allowed_cpus(int *cpus, int capacity);
/* The static OpenMP schedule: member `index` of `count` owns [*begin, *end) of [0, n). */
void zr_static_share(size_t n, int index, int count, size_t *begin, size_t *end);

/* ---- STREAM (McCalpin) kernels over the team, static partition ------------------------------ */
typedef struct {
    double *a, *b, *c;
    size_t count;      /* elements per array */
    double scalar;     /* 3.0, as stream.c */
} zr_stream_arrays;
/* Maps three arrays of `count` doubles (page aligned, base pages) and initializes them in parallel
 * with `threads` members (first touch by the member that later uses each page, as stream.c does).
 * Returns 0 or a negative errno. */
int zr_stream_alloc(zr_stream_arrays *arrays, size_t count, int threads);
void zr_stream_free(zr_stream_arrays *arrays);
/* One pass of each kernel over the team; seconds including the fork-join, as stream.c times them.
 * The kernels store with streaming (non-temporal) stores where the target has them (AVX-512, AVX,
 * SSE2): the fastest way C writes arrays larger than the caches. `zr_stream_triad_plain` is Triad
 * with ordinary stores, as stream.c's loop compiles. */
double zr_stream_copy(const zr_stream_arrays *arrays, int threads);
double zr_stream_scale(const zr_stream_arrays *arrays, int threads);
double zr_stream_add(const zr_stream_arrays *arrays, int threads);
double zr_stream_triad(const zr_stream_arrays *arrays, int threads);
double zr_stream_triad_plain(const zr_stream_arrays *arrays, int threads);
/* Vector lanes of the streaming stores (8 with AVX-512), 0 when the kernels use ordinary stores. */
int zr_stream_uses_streaming_stores(void);
/* Triad a[i] = b[i] + s * c[i] over caller-provided memory (the library's buffers), one thread. */
void zr_triad_range(double *a, const double *b, const double *c, double scalar, size_t begin, size_t end);
/* a[i] = value for i in [0, n). */
void zr_fill(double *a, size_t n, double value);
/* a = b; the sum of a's elements in order (no reassociation, as C compiles `sum += a[j]`); the
 * 3-point stencil a[j] = b[j-1]/4 + b[j]/2 + b[j+1]/4 for 0 < j < n - 1. Plain loops, -O3 -march=native. */
void zr_copy(double *a, const double *b, size_t n);
double zr_sum_plain(const double *a, size_t n);
void zr_stencil3(double *a, const double *b, size_t n);

/* ---- Stencils over padded row-major grids (stencil.c) --------------------------------------
 * 2-D 5-point Jacobi: out[i][j] = 0.25 * (in[i-1][j] + in[i+1][j] + in[i][j-1] + in[i][j+1]) for
 * the interior points of rows [first, last) of a rows x cols grid whose rows are `ld` elements
 * apart. 3-D 7-point: out = (1/6) * (the six neighbours' sum) for the interior points of planes
 * [first, last) of an n0 x n1 x n2 grid, planes `plane` and rows `ld` elements apart. Plain loops
 * over restrict pointers, -O3 -march=native; one thread (a team runs one call per block). */
void zr_jacobi2d_rows(double *restrict out, const double *restrict in, size_t ld, size_t rows, size_t cols,
                      size_t first, size_t last);
void zr_jacobi3d_planes(double *restrict out, const double *restrict in, size_t plane, size_t ld, size_t n0, size_t n1,
                        size_t n2, size_t first, size_t last);

/* ---- Allocation + first touch ---------------------------------------------------------------- */
enum { ZR_PAGES_BASE = 0, ZR_PAGES_2M = 1, ZR_PAGES_1G = 2, ZR_PAGES_THP = 3 };
/* mmap(bytes) with the page kind (MAP_HUGETLB | MAP_HUGE_2MB / _1GB for the hugetlb kinds,
 * MADV_HUGEPAGE for THP) and a store of one byte per 4 KiB; timed: mmap + touch; munmap untimed.
 * `page_kb` (may be NULL) receives the KernelPageSize smaps reports for the mapping. */
double zr_first_touch(size_t bytes, int kind, long *page_kb);
/* The same with `threads` team members each touching its static share (timed: mmap + touch). */
double zr_parallel_touch(size_t bytes, int kind, int threads, long *page_kb);
/* numa_alloc_onnode(bytes, node) + touch (timed); numa_free untimed. -ENOSYS without libnuma. */
double zr_libnuma_touch(size_t bytes, int node);
/* Page-clearing rate: fresh base-page memory (faulted in untimed) zeroed 4 KiB at a time, as the
 * kernel's clear_page does when it hands out pages. */
double zr_clear_4k(size_t bytes);
/* memset(memory, 0, bytes) over memory the caller has faulted in. */
double zr_memset0(void *memory, size_t bytes);
/* n pairs of malloc(size) + free. */
double zr_malloc_free(size_t size, long n);

/* ---- Optional peers, detected at run time ----------------------------------------------------- */
/* memkind (dlopen of libmemkind.so.0): 1 when usable, else 0 with the reason in `why`. */
int zr_memkind_available(char *why, size_t capacity);
/* memkind_malloc(MEMKIND_HUGETLB, bytes) + touch (timed); memkind_free untimed. */
double zr_memkind_touch(size_t bytes, long *page_kb);
/* glibc malloc(bytes) + touch (timed), free untimed: run in a child started with
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=2 to measure the tunable. */
double zr_malloc_touch(size_t bytes, long *page_kb);
/* glibc's version string ("2.36"), or NULL for another C library. */
const char *zr_glibc_version(void);
/* KernelPageSize (kB) of the mapping containing `address`, from /proc/self/smaps; 0 if unknown. */
long zr_kernel_page_kb(const void *address);

/* ---- Huge page reservations restored exactly once --------------------------------------------
 * `zr_reserve_pages(path, count, &granted)` adds `count` to the integer in `path` (an nr_hugepages
 * file) and records what the kernel really added. The caller must hold the machine-wide hugetlb
 * pool lock (ZiggyKernel's HugePagePoolLock) until the process exits, so cooperating processes do
 * not interleave read-modify-writes and the restore path needs no lock. `zr_restore_pages()` subtracts exactly what was added,
 * once: every entry carries an atomic "restored" flag that the signal handler and the normal exit
 * path share, so a signal that restores and then returns (a backtracer that swallows it) does not
 * make the exit path subtract again. `zr_restore_install()` restores on SIGINT/SIGTERM/SIGHUP (then
 * exits 128+signal) and on SIGSEGV/SIGBUS/SIGILL/SIGABRT/SIGFPE/SIGTRAP (then passes the signal on
 * to the previous handler, and dies of it if that returns). Async-signal-safe. */
int zr_reserve_pages(const char *path, long count, long *granted);
/* Attaches the library's ledger entry (HugePageReservation's record of a reservation, which
 * `ziggy-bench --release-stale` reads after a SIGKILL) to the last reservation; restoring it
 * removes the entry. */
int zr_attach_ledger(const char *ledger_path);
void zr_restore_pages(void);
void zr_restore_install(void);
/* Pages recorded but not yet restored (for tests and the report). */
long zr_reserved_outstanding(void);

/* Keeps a pointer's target from being optimized away: an empty asm, inlined into Swift callers
 * too, so Swift loops pay what the C loops pay for it (nothing), not a call. */
static inline void zr_black_hole(const void *pointer) { __asm__ volatile("" : : "r"(pointer) : "memory"); }

#ifdef __cplusplus
}
#endif
#endif

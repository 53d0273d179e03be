/* STREAM's four kernels (https://www.cs.virginia.edu/stream/, stream.c 5.10) with the static
 * schedule `#pragma omp parallel for` gives them, over the fork-join team. Arrays are separate
 * page-aligned mappings, initialized in parallel so each page is first touched by its user. */
#define _GNU_SOURCE
#include "CZiggyReferences.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#if defined(__AVX512F__) || defined(__AVX__) || defined(__SSE2__)
#include <immintrin.h>
#endif

/* Streaming (non-temporal) stores: the destination is written without first being read into the
 * cache (no write-allocate), as tuned STREAM builds do; 24 instead of 32 bytes of traffic per Triad
 * element. Scalar head until the store is vector-aligned, vector body, scalar tail, then a fence. */
#if defined(__AVX512F__)
#define ZR_LANES 8
typedef __m512d zr_vec;
#define zr_load(p) _mm512_loadu_pd(p)
#define zr_stream(p, v) _mm512_stream_pd(p, v)
#define zr_splat(x) _mm512_set1_pd(x)
#define zr_add(x, y) _mm512_add_pd(x, y)
#define zr_mul(x, y) _mm512_mul_pd(x, y)
#elif defined(__AVX__)
#define ZR_LANES 4
typedef __m256d zr_vec;
#define zr_load(p) _mm256_loadu_pd(p)
#define zr_stream(p, v) _mm256_stream_pd(p, v)
#define zr_splat(x) _mm256_set1_pd(x)
#define zr_add(x, y) _mm256_add_pd(x, y)
#define zr_mul(x, y) _mm256_mul_pd(x, y)
#elif defined(__SSE2__)
#define ZR_LANES 2
typedef __m128d zr_vec;
#define zr_load(p) _mm_loadu_pd(p)
#define zr_stream(p, v) _mm_stream_pd(p, v)
#define zr_splat(x) _mm_set1_pd(x)
#define zr_add(x, y) _mm_add_pd(x, y)
#define zr_mul(x, y) _mm_mul_pd(x, y)
#endif

#ifdef ZR_LANES
#define ZR_STREAMING_LOOP(dst, begin, end, scalar_expr, vector_expr)                              \
    do {                                                                                          \
        size_t j = (begin);                                                                       \
        for (; j < (end) && ((uintptr_t)((dst) + j) & (ZR_LANES * sizeof(double) - 1)); j++)     \
            (dst)[j] = (scalar_expr);                                                             \
        for (; j + ZR_LANES <= (end); j += ZR_LANES) zr_stream((dst) + j, (vector_expr));          \
        for (; j < (end); j++) (dst)[j] = (scalar_expr);                                          \
        _mm_sfence();                                                                             \
    } while (0)
#else
#define ZR_STREAMING_LOOP(dst, begin, end, scalar_expr, vector_expr)                              \
    do { for (size_t j = (begin); j < (end); j++) (dst)[j] = (scalar_expr); } while (0)
#endif

typedef struct {
    const zr_stream_arrays *arrays;
    int kernel;
} zr_stream_job;

enum { ZR_INIT, ZR_COPY, ZR_SCALE, ZR_ADD, ZR_TRIAD, ZR_TRIAD_PLAIN };

static void zr_stream_task(void *raw, int index, int count) {
    const zr_stream_job *job = raw;
    double *restrict a = job->arrays->a;
    double *restrict b = job->arrays->b;
    double *restrict c = job->arrays->c;
    const double scalar = job->arrays->scalar;
    size_t begin, end;
    zr_static_share(job->arrays->count, index, count, &begin, &end);
    switch (job->kernel) {
    case ZR_INIT:
        for (size_t j = begin; j < end; j++) { a[j] = 1.0; b[j] = 2.0; c[j] = 0.0; }
        for (size_t j = begin; j < end; j++) a[j] = 2.0 * a[j];
        break;
#ifdef ZR_LANES
    case ZR_COPY: ZR_STREAMING_LOOP(c, begin, end, a[j], zr_load(a + j)); break;
    case ZR_SCALE: ZR_STREAMING_LOOP(b, begin, end, scalar * c[j], zr_mul(zr_splat(scalar), zr_load(c + j))); break;
    case ZR_ADD: ZR_STREAMING_LOOP(c, begin, end, a[j] + b[j], zr_add(zr_load(a + j), zr_load(b + j))); break;
    case ZR_TRIAD:
        ZR_STREAMING_LOOP(a, begin, end, b[j] + scalar * c[j],
                          zr_add(zr_load(b + j), zr_mul(zr_splat(scalar), zr_load(c + j))));
        break;
#else
    case ZR_COPY: for (size_t j = begin; j < end; j++) c[j] = a[j]; break;
    case ZR_SCALE: for (size_t j = begin; j < end; j++) b[j] = scalar * c[j]; break;
    case ZR_ADD: for (size_t j = begin; j < end; j++) c[j] = a[j] + b[j]; break;
    case ZR_TRIAD: for (size_t j = begin; j < end; j++) a[j] = b[j] + scalar * c[j]; break;
#endif
    case ZR_TRIAD_PLAIN:
        /* stream.c's loop as the compiler vectorizes it: ordinary stores. */
        for (size_t j = begin; j < end; j++) a[j] = b[j] + scalar * c[j];
        break;
    }
}

static double zr_stream_run(const zr_stream_arrays *arrays, int threads, int kernel) {
    zr_stream_job job = { arrays, kernel };
    double start = zr_now();
    zr_team_run(threads, zr_stream_task, &job);
    return zr_now() - start;
}

static double *zr_map_doubles(size_t count) {
    void *memory = mmap(NULL, count * sizeof(double), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return memory == MAP_FAILED ? NULL : memory;
}

int zr_stream_alloc(zr_stream_arrays *arrays, size_t count, int threads) {
    arrays->a = zr_map_doubles(count);
    arrays->b = zr_map_doubles(count);
    arrays->c = zr_map_doubles(count);
    arrays->count = count;
    arrays->scalar = 3.0;
    if (!arrays->a || !arrays->b || !arrays->c) {
        int error = errno;
        zr_stream_free(arrays);
        return -error;
    }
    zr_stream_run(arrays, threads, ZR_INIT);
    return 0;
}

void zr_stream_free(zr_stream_arrays *arrays) {
    size_t bytes = arrays->count * sizeof(double);
    if (arrays->a) munmap(arrays->a, bytes);
    if (arrays->b) munmap(arrays->b, bytes);
    if (arrays->c) munmap(arrays->c, bytes);
    arrays->a = arrays->b = arrays->c = NULL;
}

double zr_stream_copy(const zr_stream_arrays *arrays, int threads) { return zr_stream_run(arrays, threads, ZR_COPY); }
double zr_stream_scale(const zr_stream_arrays *arrays, int threads) { return zr_stream_run(arrays, threads, ZR_SCALE); }
double zr_stream_add(const zr_stream_arrays *arrays, int threads) { return zr_stream_run(arrays, threads, ZR_ADD); }
double zr_stream_triad(const zr_stream_arrays *arrays, int threads) { return zr_stream_run(arrays, threads, ZR_TRIAD); }
double zr_stream_triad_plain(const zr_stream_arrays *arrays, int threads) { return zr_stream_run(arrays, threads, ZR_TRIAD_PLAIN); }
int zr_stream_uses_streaming_stores(void) {
#ifdef ZR_LANES
    return ZR_LANES;
#else
    return 0;
#endif
}

void zr_triad_range(double *restrict a, const double *restrict b, const double *restrict c, double scalar,
                    size_t begin, size_t end) {
    for (size_t j = begin; j < end; j++) a[j] = b[j] + scalar * c[j];
}

void zr_fill(double *restrict a, size_t n, double value) {
    for (size_t j = 0; j < n; j++) a[j] = value;
}

void zr_copy(double *restrict a, const double *restrict b, size_t n) {
    for (size_t j = 0; j < n; j++) a[j] = b[j];
}

double zr_sum_plain(const double *a, size_t n) {
    /* As a C user writes it, without -ffast-math or a pragma: the additions stay in order. */
    double sum = 0;
    for (size_t j = 0; j < n; j++) sum += a[j];
    return sum;
}

void zr_stencil3(double *restrict a, const double *restrict b, size_t n) {
    for (size_t j = 1; j + 1 < n; j++) a[j] = 0.25 * b[j - 1] + 0.5 * b[j] + 0.25 * b[j + 1];
}

/* References for the library's teams: an empty fork-join region (this file's team, libgomp-like),
 * an empty region made of pthread_create + pthread_join (what a library without a persistent team
 * pays), and a SIMD sum over the team's static schedule, written as a C user writes one
 * (`#pragma omp simd reduction`, which -fopenmp-simd honours without an OpenMP runtime). */
#define _GNU_SOURCE
#include "CZiggyReferences.h"

#include <pthread.h>

static void zr_empty_task(void *ctx, int index, int count) { (void)ctx; (void)index; (void)count; }

void zr_team_empty_region(int threads) { zr_team_run(threads, zr_empty_task, NULL); }

static void *zr_nothing(void *raw) { return raw; }

int zr_pthread_region(int threads) {
    pthread_t workers[256];
    int started = 0;
    for (int i = 1; i < threads && i < 256; i++) {
        if (pthread_create(&workers[started], NULL, zr_nothing, NULL) != 0) break;
        started++;
    }
    for (int i = 0; i < started; i++) pthread_join(workers[i], NULL);
    return started + 1;
}

double zr_sum_range(const double *a, size_t begin, size_t end) {
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (size_t i = begin; i < end; i++) sum += a[i];
    return sum;
}

typedef struct {
    const double *a;
    size_t n;
    double partial[256];
} zr_sum_job;

static void zr_sum_task(void *ctx, int index, int count) {
    zr_sum_job *job = ctx;
    size_t begin, end;
    zr_static_share(job->n, index, count, &begin, &end);
    job->partial[index] = zr_sum_range(job->a, begin, end);
}

double zr_team_sum(const double *a, size_t n, int threads) {
    zr_sum_job job = { .a = a, .n = n };
    if (threads > 256) threads = 256;
    zr_team_run(threads, zr_sum_task, &job);
    double sum = 0;
    for (int i = 0; i < threads; i++) sum += job.partial[i];
    return sum;
}

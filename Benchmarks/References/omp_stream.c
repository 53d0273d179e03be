/* The STREAM kernels as a C user runs them with OpenMP: three arrays of COUNT doubles, first
 * touched in parallel by the static schedule every kernel uses, each kernel a
 * `#pragma omp parallel for` loop, timed over PASSES passes. An outside reference for ziggy-bench
 * (built with gcc -O3 -march=native -fopenmp by `make bench`): the program users compare
 * against, in the same run as the rows it judges. It follows stream.c's rules (static schedule,
 * average over the passes after the first, 3 × 8 bytes moved per Triad element) and was checked
 * against stream.c 5.10 on the machines this project is measured on (Docs/Benchmarks.md).
 *
 * Usage: omp_stream COUNT PASSES   (threads from OMP_NUM_THREADS; placement from OMP_PROC_BIND)
 * Prints one line per kernel: "<name> <average GB/s> <best GB/s> <threads>". */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: omp_stream COUNT PASSES\n");
        return 2;
    }
    long count = atol(argv[1]);
    int passes = atoi(argv[2]);
    if (count < 1 || passes < 2) {
        fprintf(stderr, "omp_stream: COUNT must be at least 1 and PASSES at least 2\n");
        return 2;
    }
    double *a, *b, *c;
    size_t bytes = (size_t)count * sizeof(double);
    if (posix_memalign((void **)&a, 64, bytes) || posix_memalign((void **)&b, 64, bytes) ||
        posix_memalign((void **)&c, 64, bytes)) {
        fprintf(stderr, "omp_stream: cannot allocate 3 x %zu bytes\n", bytes);
        return 1;
    }
#pragma omp parallel for schedule(static)
    for (long j = 0; j < count; j++) {
        a[j] = 1.0;
        b[j] = 2.0;
        c[j] = 0.0;
    }
    const double scalar = 3.0;
    const char *names[4] = {"copy", "scale", "add", "triad"};
    const double moved[4] = {2.0 * bytes, 2.0 * bytes, 3.0 * bytes, 3.0 * bytes};
    double sum[4] = {0}, best[4] = {0};
    for (int pass = 0; pass < passes; pass++) {
        double t[4];
        t[0] = now();
#pragma omp parallel for schedule(static)
        for (long j = 0; j < count; j++) c[j] = a[j];
        t[0] = now() - t[0];
        t[1] = now();
#pragma omp parallel for schedule(static)
        for (long j = 0; j < count; j++) b[j] = scalar * c[j];
        t[1] = now() - t[1];
        t[2] = now();
#pragma omp parallel for schedule(static)
        for (long j = 0; j < count; j++) c[j] = a[j] + b[j];
        t[2] = now() - t[2];
        t[3] = now();
#pragma omp parallel for schedule(static)
        for (long j = 0; j < count; j++) a[j] = b[j] + scalar * c[j];
        t[3] = now() - t[3];
        if (pass == 0) continue; /* as stream.c: the first pass is not counted */
        for (int k = 0; k < 4; k++) {
            sum[k] += t[k];
            double rate = moved[k] / t[k] / 1e9;
            if (rate > best[k]) best[k] = rate;
        }
    }
    for (int k = 0; k < 4; k++)
        printf("%s %.4f %.4f %d\n", names[k], moved[k] / (sum[k] / (passes - 1)) / 1e9, best[k], omp_get_max_threads());
    /* Keep the results observable. */
    double check = a[count / 2] + b[count / 3] + c[count - 1];
    return check == -1.0 ? 3 : 0;
}

/* An empty OpenMP parallel region, the way the EPCC OpenMP micro-benchmarks measure fork-join
 * overhead: an outside reference for ziggy-bench's team-region workload, built with gcc's libgomp
 * by `make bench` and run with the caller's OMP_NUM_THREADS and OMP_PROC_BIND.
 *
 * Usage: omp_fork_join REGIONS   Prints the nanoseconds per region (after as many warm-up regions). */
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
    long regions = argc == 2 ? atol(argv[1]) : 0;
    if (regions < 1) {
        fprintf(stderr, "usage: omp_fork_join REGIONS\n");
        return 2;
    }
    volatile int sink = 0;
    for (int round = 0; round < 2; round++) {
        double start = now();
        for (long i = 0; i < regions; i++) {
#pragma omp parallel
            {
                if (omp_get_thread_num() < 0) sink++;
            }
        }
        double seconds = now() - start;
        if (round == 1) printf("%.3f %d\n", seconds / (double)regions * 1e9, omp_get_max_threads());
    }
    return sink;
}

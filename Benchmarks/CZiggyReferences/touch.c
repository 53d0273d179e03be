/* Allocation + first touch, clearing and small-allocation references, and the optional peers
 * (memkind, glibc's malloc hugetlb tunable) that are looked up at run time. */
#define _GNU_SOURCE
#include "CZiggyReferences.h"

#include <dlfcn.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif
#include <errno.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static void zr_touch_range(char *memory, size_t begin, size_t end) {
    for (size_t offset = begin; offset < end; offset += 4096) ((volatile char *)memory)[offset] = 1;
}

static size_t zr_round_up(size_t bytes, int kind) {
    size_t page = kind == ZR_PAGES_2M ? (size_t)2 << 20 : kind == ZR_PAGES_1G ? (size_t)1 << 30 : 4096;
    return (bytes + page - 1) / page * page;
}

static void *zr_map(size_t bytes, int kind) {
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    if (kind == ZR_PAGES_2M) flags |= MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
    if (kind == ZR_PAGES_1G) flags |= MAP_HUGETLB | (30 << MAP_HUGE_SHIFT);
    void *memory = mmap(NULL, zr_round_up(bytes, kind), PROT_READ | PROT_WRITE, flags, -1, 0);
    if (memory == MAP_FAILED) return NULL;
    if (kind == ZR_PAGES_THP) madvise(memory, bytes, MADV_HUGEPAGE);
    return memory;
}

long zr_kernel_page_kb(const void *address) {
    FILE *smaps = fopen("/proc/self/smaps", "r");
    if (!smaps) return 0;
    char line[512];
    int inside = 0;
    long result = 0;
    uintptr_t target = (uintptr_t)address;
    while (fgets(line, sizeof line, smaps)) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = target >= start && target < end;
            continue;
        }
        long kb;
        if (inside && sscanf(line, "KernelPageSize: %ld kB", &kb) == 1) {
            result = kb;
            break;
        }
    }
    fclose(smaps);
    return result;
}

double zr_first_touch(size_t bytes, int kind, long *page_kb) {
    double start = zr_now();
    char *memory = zr_map(bytes, kind);
    if (!memory) return -errno;
    zr_touch_range(memory, 0, bytes);
    double seconds = zr_now() - start;
    if (page_kb) *page_kb = zr_kernel_page_kb(memory);
    munmap(memory, zr_round_up(bytes, kind));
    return seconds;
}

typedef struct { char *memory; size_t bytes; } zr_touch_job;

static void zr_touch_task(void *raw, int index, int count) {
    zr_touch_job *job = raw;
    size_t pages = (job->bytes + 4095) / 4096, begin, end;
    zr_static_share(pages, index, count, &begin, &end);
    zr_touch_range(job->memory, begin * 4096, end * 4096 < job->bytes ? end * 4096 : job->bytes);
}

double zr_parallel_touch(size_t bytes, int kind, int threads, long *page_kb) {
    double start = zr_now();
    char *memory = zr_map(bytes, kind);
    if (!memory) return -errno;
    zr_touch_job job = { memory, bytes };
    zr_team_run(threads, zr_touch_task, &job);
    double seconds = zr_now() - start;
    if (page_kb) *page_kb = zr_kernel_page_kb(memory);
    munmap(memory, zr_round_up(bytes, kind));
    return seconds;
}

double zr_libnuma_touch(size_t bytes, int node) {
    if (numa_available() < 0) return -ENOSYS;
    double start = zr_now();
    char *memory = numa_alloc_onnode(bytes, node);
    if (!memory) return -ENOMEM;
    zr_touch_range(memory, 0, bytes);
    double seconds = zr_now() - start;
    numa_free(memory, bytes);
    return seconds;
}

double zr_clear_4k(size_t bytes) {
    char *memory = zr_map(bytes, ZR_PAGES_BASE);
    if (!memory) return -errno;
    if (madvise(memory, bytes, MADV_POPULATE_WRITE) != 0) zr_touch_range(memory, 0, bytes);
    double start = zr_now();
    for (size_t offset = 0; offset + 4096 <= bytes; offset += 4096) {
        memset(memory + offset, 0, 4096);
        __asm__ volatile("" : : "r"(memory + offset) : "memory");
    }
    double seconds = zr_now() - start;
    munmap(memory, bytes);
    return seconds;
}

double zr_memset0(void *memory, size_t bytes) {
    double start = zr_now();
    memset(memory, 0, bytes);
    __asm__ volatile("" : : "r"(memory) : "memory");
    return zr_now() - start;
}

double zr_malloc_free(size_t size, long n) {
    double start = zr_now();
    for (long i = 0; i < n; i++) {
        void *p = malloc(size);
        __asm__ volatile("" : : "r"(p) : "memory");
        free(p);
    }
    return zr_now() - start;
}

double zr_malloc_touch(size_t bytes, long *page_kb) {
    double start = zr_now();
    char *memory = malloc(bytes);
    if (!memory) return -ENOMEM;
    zr_touch_range(memory, 0, bytes);
    double seconds = zr_now() - start;
    if (page_kb) *page_kb = zr_kernel_page_kb(memory);
    free(memory);
    return seconds;
}

/* memkind, looked up at run time so the benchmark neither needs nor links it. */
typedef void *(*zr_memkind_malloc_fn)(void *kind, size_t size);
typedef void (*zr_memkind_free_fn)(void *kind, void *ptr);
static struct {
    int tried, usable;
    char why[256];
    zr_memkind_malloc_fn malloc_fn;
    zr_memkind_free_fn free_fn;
    void **hugetlb_kind;
} zr_memkind;

int zr_memkind_available(char *why, size_t capacity) {
    if (!zr_memkind.tried) {
        zr_memkind.tried = 1;
        void *library = dlopen("libmemkind.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!library) {
            snprintf(zr_memkind.why, sizeof zr_memkind.why, "libmemkind not installed (%s)", dlerror());
        } else {
            zr_memkind.malloc_fn = (zr_memkind_malloc_fn)dlsym(library, "memkind_malloc");
            zr_memkind.free_fn = (zr_memkind_free_fn)dlsym(library, "memkind_free");
            zr_memkind.hugetlb_kind = (void **)dlsym(library, "MEMKIND_HUGETLB");
            if (!zr_memkind.malloc_fn || !zr_memkind.free_fn || !zr_memkind.hugetlb_kind) {
                snprintf(zr_memkind.why, sizeof zr_memkind.why, "libmemkind lacks memkind_malloc / MEMKIND_HUGETLB");
            } else {
                zr_memkind.usable = 1;
            }
        }
    }
    if (why && capacity) snprintf(why, capacity, "%s", zr_memkind.usable ? "" : zr_memkind.why);
    return zr_memkind.usable;
}

double zr_memkind_touch(size_t bytes, long *page_kb) {
    if (!zr_memkind_available(NULL, 0)) return -ENOSYS;
    void *kind = *zr_memkind.hugetlb_kind;
    double start = zr_now();
    char *memory = zr_memkind.malloc_fn(kind, bytes);
    if (!memory) return -ENOMEM;
    zr_touch_range(memory, 0, bytes);
    double seconds = zr_now() - start;
    if (page_kb) *page_kb = zr_kernel_page_kb(memory);
    zr_memkind.free_fn(kind, memory);
    return seconds;
}

const char *zr_glibc_version(void) {
#ifdef __GLIBC__
    return gnu_get_libc_version();
#else
    return NULL;
#endif
}

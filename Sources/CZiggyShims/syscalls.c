#define _GNU_SOURCE
#include "zg_syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

int zg_gettid(void) { return (int)syscall(SYS_gettid); }

int zg_set_thread_affinity(int tid, const uint64_t *mask, size_t words) {
    size_t cpus = words * 64;
    cpu_set_t *set = CPU_ALLOC(cpus);
    if (set == NULL) { errno = ENOMEM; return -1; }
    size_t size = CPU_ALLOC_SIZE(cpus);
    CPU_ZERO_S(size, set);
    for (size_t cpu = 0; cpu < cpus; cpu++)
        if ((mask[cpu / 64] >> (cpu % 64)) & 1) CPU_SET_S(cpu, size, set);
    int rc = sched_setaffinity(tid, size, set);
    int saved = errno;
    CPU_FREE(set);
    errno = saved;
    return rc;
}

int zg_get_affinity(uint64_t *mask, size_t words) {
    size_t cpus = words * 64;
    cpu_set_t *set = CPU_ALLOC(cpus);
    if (set == NULL) { errno = ENOMEM; return -1; }
    size_t size = CPU_ALLOC_SIZE(cpus);
    CPU_ZERO_S(size, set);
    int rc = sched_getaffinity(0, size, set);
    if (rc == 0) {
        memset(mask, 0, words * sizeof(uint64_t));
        for (size_t cpu = 0; cpu < cpus; cpu++)
            if (CPU_ISSET_S(cpu, size, set)) mask[cpu / 64] |= (uint64_t)1 << (cpu % 64);
    }
    int saved = errno;
    CPU_FREE(set);
    errno = saved;
    return rc;
}

int zg_current_cpu(void) { return sched_getcpu(); }

int zg_mlock(const void *address, size_t length) { return (int)syscall(SYS_mlock, address, length); }
int zg_munlock(const void *address, size_t length) { return (int)syscall(SYS_munlock, address, length); }

int64_t zg_memlock_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0) return -1;
    return limit.rlim_cur == RLIM_INFINITY ? INT64_MAX : (int64_t)limit.rlim_cur;
}

int zg_set_memlock_limit(uint64_t bytes) {
    struct rlimit limit = { .rlim_cur = bytes, .rlim_max = bytes };
    return setrlimit(RLIMIT_MEMLOCK, &limit);
}

int zg_drop_ipc_lock_capability(void) {
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    data[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
    data[CAP_IPC_LOCK / 32].permitted &= ~(1u << (CAP_IPC_LOCK % 32));
    return (int)syscall(SYS_capset, &header, data);
}

void *zg_mremap(void *old_address, size_t old_size, size_t new_size, int flags) {
    return mremap(old_address, old_size, new_size, flags);
}

void *zg_mremap_fixed(void *old_address, size_t old_size, size_t new_size, void *target) {
    return mremap(old_address, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
}

long zg_mbind(void *address, unsigned long length, int mode, const unsigned long *nodemask,
              unsigned long maxnode, unsigned int flags) {
    return syscall(SYS_mbind, address, length, mode, nodemask, maxnode, flags);
}

long zg_get_mempolicy(int *mode, unsigned long *nodemask, unsigned long maxnode, void *address,
                      unsigned long flags) {
    return syscall(SYS_get_mempolicy, mode, nodemask, maxnode, address, flags);
}

long zg_move_pages(unsigned long count, void **pages, const int *nodes, int *status, int flags) {
    return syscall(SYS_move_pages, 0, count, pages, nodes, status, flags);
}

int64_t zg_fs_magic(int fd) {
    struct statfs info;
    if (fstatfs(fd, &info) != 0) return -1;
    return (int64_t)info.f_type;
}

int zg_file_type_and_size(int fd, uint32_t *type, int64_t *size) {
    struct stat info;
    if (fstat(fd, &info) != 0) return -1;
    *type = (uint32_t)(info.st_mode & S_IFMT);
    *size = (int64_t)info.st_size;
    return 0;
}

int zg_clear_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

int zg_flock(int fd, int operation) { return flock(fd, operation); }

int zg_path_type_and_size(const char *path, uint32_t *type, int64_t *size) {
    struct stat info;
    if (stat(path, &info) != 0) return -1;
    *type = (uint32_t)(info.st_mode & S_IFMT);
    *size = (int64_t)info.st_size;
    return 0;
}

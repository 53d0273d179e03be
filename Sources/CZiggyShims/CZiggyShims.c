#define _GNU_SOURCE
#include "CZiggyShims.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

__thread zg_thread *zg_current_thread __attribute__((tls_model("initial-exec"))) = NULL;

static uint64_t zg_thread_counter = 0;

uint64_t zg_next_thread_id(void) {
    return __atomic_add_fetch(&zg_thread_counter, 1, __ATOMIC_RELAXED);
}

int zg_set_affinity(const uint64_t *mask, size_t words) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (size_t w = 0; w < words; w++)
        for (int b = 0; b < 64; b++)
            if ((mask[w] >> b) & 1) {
                size_t cpu = w * 64 + (size_t)b;
                if (cpu < CPU_SETSIZE) CPU_SET(cpu, &set);
            }
    return sched_setaffinity(0, sizeof set, &set);
}

int zg_get_affinity(uint64_t *mask, size_t words) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    memset(mask, 0, words * sizeof(uint64_t));
    for (size_t cpu = 0; cpu < CPU_SETSIZE && cpu < words * 64; cpu++)
        if (CPU_ISSET(cpu, &set)) mask[cpu / 64] |= (uint64_t)1 << (cpu % 64);
    return 0;
}

int zg_current_cpu(void) { return sched_getcpu(); }

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

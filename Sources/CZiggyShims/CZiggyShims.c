#define _GNU_SOURCE
#include "CZiggyShims.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

int zg_mlock(const void *address, size_t length) { return (int)syscall(SYS_mlock, address, length); }
int zg_munlock(const void *address, size_t length) { return (int)syscall(SYS_munlock, address, length); }

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

#define ZG_RESTORE_MAX 8
static struct { char path[256]; long amount; } zg_restore_entries[ZG_RESTORE_MAX];
static volatile sig_atomic_t zg_restore_count = 0;

int zg_restore_register(const char *path, long amount) {
    if (zg_restore_count >= ZG_RESTORE_MAX || strlen(path) >= sizeof zg_restore_entries[0].path) return -1;
    strcpy(zg_restore_entries[zg_restore_count].path, path);
    zg_restore_entries[zg_restore_count].amount = amount;
    zg_restore_count++;
    return 0;
}

/* Only async-signal-safe calls: open, read, write, close. */
static void zg_restore_apply(void) {
    for (int i = zg_restore_count - 1; i >= 0; i--) {
        char digits[32];
        int fd = open(zg_restore_entries[i].path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t n = read(fd, digits, sizeof digits - 1);
        close(fd);
        if (n <= 0) continue;
        long value = 0;
        for (ssize_t k = 0; k < n && digits[k] >= '0' && digits[k] <= '9'; k++) value = value * 10 + (digits[k] - '0');
        value -= zg_restore_entries[i].amount;
        if (value < 0) value = 0;
        char out[32];
        int len = 0;
        do { out[len++] = (char)('0' + value % 10); value /= 10; } while (value > 0);
        for (int a = 0, b = len - 1; a < b; a++, b--) { char t = out[a]; out[a] = out[b]; out[b] = t; }
        fd = open(zg_restore_entries[i].path, O_WRONLY);
        if (fd < 0) continue;
        ssize_t ignored = write(fd, out, (size_t)len);
        (void)ignored;
        close(fd);
    }
    zg_restore_count = 0;
}

static void zg_restore_on_signal(int signal_number) {
    zg_restore_apply();
    _exit(128 + signal_number);
}

/* Crashes restore too, then hand the signal to whoever handled it before (the Swift runtime's
   backtracer), so the crash report still appears. */
static const int zg_crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE, SIGTRAP };
#define ZG_CRASH_SIGNALS (sizeof zg_crash_signals / sizeof zg_crash_signals[0])
static struct sigaction zg_previous_crash_actions[ZG_CRASH_SIGNALS];

static void zg_restore_on_crash(int signal_number) {
    zg_restore_apply();
    for (size_t i = 0; i < ZG_CRASH_SIGNALS; i++) {
        if (zg_crash_signals[i] == signal_number) {
            sigaction(signal_number, &zg_previous_crash_actions[i], NULL);
            break;
        }
    }
    raise(signal_number);
}

void zg_restore_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = zg_restore_on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    struct sigaction crash;
    memset(&crash, 0, sizeof crash);
    crash.sa_handler = zg_restore_on_crash;
    sigemptyset(&crash.sa_mask);
    crash.sa_flags = SA_NODEFER;
    for (size_t i = 0; i < ZG_CRASH_SIGNALS; i++) sigaction(zg_crash_signals[i], &crash, &zg_previous_crash_actions[i]);
}

void zg_restore_run(void) { zg_restore_apply(); }

void zg_restore_clear(void) { zg_restore_count = 0; }

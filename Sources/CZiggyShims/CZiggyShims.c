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

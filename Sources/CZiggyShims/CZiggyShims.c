#include "CZiggyShims.h"

__thread zg_thread *zg_current_thread __attribute__((tls_model("initial-exec"))) = NULL;

static uint64_t zg_thread_counter = 0;

uint64_t zg_next_thread_id(void) {
    return __atomic_add_fetch(&zg_thread_counter, 1, __ATOMIC_RELAXED);
}

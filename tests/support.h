/* support.h: helpers shared by the test programs: temporary directories,
 * time, and (for integration tests) a real sluiced started on loopback. */
#ifndef SLUICE_TESTS_SUPPORT_H
#define SLUICE_TESTS_SUPPORT_H

#include <stdint.h>
#include <sys/types.h>

/* A new empty directory under $TMPDIR (or /tmp), named after tag.
 * Returns a malloc'd path the caller frees (after test_rmtree), or NULL. */
char *test_tmpdir(const char *tag);

/* Remove path and everything below it. Returns 0 or -1. */
int test_rmtree(const char *path);

/* Wall-clock Unix milliseconds and a monotonic millisecond clock. */
uint64_t test_wall_ms(void);
uint64_t test_mono_ms(void);

/* Sleep ms milliseconds (for integration tests only: core tests pass time). */
void test_sleep_ms(unsigned ms);

#endif

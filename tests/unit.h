/* unit.h: the smallest test harness that does the job.
 *
 * A test program lists its tests with TEST(name) { ... } and runs them with
 * UNIT_MAIN(test_a, test_b, ...). Each test runs in order; CHECK() records a
 * failure and goes on, REQUIRE() ends the test. The program prints one line
 * per test and closes with "N passed, N failed" (tests/run.py adds up all
 * programs' lines). Exit status: 0 when nothing failed.
 */
#ifndef SLUICE_TESTS_UNIT_H
#define SLUICE_TESTS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*unit_fn)(int *failed);

#define TEST(name) static void name(int *unit_failed_)

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            *unit_failed_ = 1;                                                   \
        }                                                                        \
    } while (0)

#define REQUIRE(cond)                                                            \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "  %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
            *unit_failed_ = 1;                                                   \
            return;                                                              \
        }                                                                        \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                       \
    do {                                                                         \
        unsigned long long unit_a_ = (unsigned long long)(a);                    \
        unsigned long long unit_b_ = (unsigned long long)(b);                    \
        if (unit_a_ != unit_b_) {                                                \
            fprintf(stderr, "  %s:%d: %s == %llu, expected %s == %llu\n",        \
                    __FILE__, __LINE__, #a, unit_a_, #b, unit_b_);               \
            *unit_failed_ = 1;                                                   \
        }                                                                        \
    } while (0)

typedef struct unit_case {
    const char *name;
    unit_fn fn;
} unit_case;

static inline int unit_run(const char *prog, const unit_case *cases, size_t n, int argc,
                           char **argv)
{
    size_t passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && strstr(cases[i].name, argv[1]) == NULL)
            continue;
        int f = 0;
        cases[i].fn(&f);
        printf("%s %s.%s\n", f ? "FAIL" : "ok  ", prog, cases[i].name);
        fflush(stdout);
        if (f)
            failed++;
        else
            passed++;
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define UNIT_CASE(fn) {#fn, fn}
#define UNIT_MAIN(prog, ...)                                                     \
    int main(int argc, char **argv)                                              \
    {                                                                            \
        static const unit_case cases_[] = {__VA_ARGS__};                         \
        return unit_run(prog, cases_, sizeof cases_ / sizeof cases_[0], argc, argv); \
    }

#endif

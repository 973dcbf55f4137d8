/* test_bench.c: a smoke run of the benchmark program.
 *
 * Runs $SLUICE_BENCH (set by `scons test`) as a child process: --quick with
 * a report must exit 0 and write every section; bad options must be usage
 * errors (exit 2) that start nothing. No timing assertions: the numbers
 * depend on the machine.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "support.h"
#include "unit.h"

#define QUICK_TIMEOUT_MS 240000u /* the quick run takes well under a minute */
#define STOP_GRACE_MS 30000u

/* Run $SLUICE_BENCH with args (NULL-ended), stdout and stderr to files in
 * dir. Returns the exit status, or -1 (could not run, killed, timed out). */
static int run_bench(const char *dir, const char *const *args, unsigned timeout_ms)
{
    const char *bench = getenv("SLUICE_BENCH");
    if (!bench || !*bench) {
        fprintf(stderr, "  SLUICE_BENCH is not set (run the tests with `scons test`)\n");
        return -1;
    }
    char out[4096], err[4096];
    snprintf(out, sizeof out, "%s/stdout.txt", dir);
    snprintf(err, sizeof err, "%s/stderr.txt", dir);
    const char *argv[16] = {bench};
    for (int i = 0; args[i] && i < 14; i++)
        argv[i + 1] = args[i];
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int in = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0)
            _exit(127);
        dup2(o, 1), dup2(e, 2), dup2(in, 0);
        execv(bench, (char *const *)argv);
        _exit(127);
    }
    uint64_t deadline = test_mono_ms() + timeout_ms;
    int status;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (test_mono_ms() > deadline) {
            fprintf(stderr, "  sluice-bench timed out; stopping it\n");
            kill(pid, SIGTERM); /* it stops its servers on SIGTERM */
            deadline = test_mono_ms() + STOP_GRACE_MS;
            while (waitpid(pid, &status, WNOHANG) == 0 && test_mono_ms() < deadline)
                test_sleep_ms(50);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        test_sleep_ms(50);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The whole file, NUL-terminated (malloc'd), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    else
        buf[len] = '\0';
    return buf;
}

static void show_file(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = slurp(path);
    if (text) {
        size_t len = strlen(text);
        fprintf(stderr, "  --- %s (last 3000 bytes) ---\n%s\n", name,
                len > 3000 ? text + len - 3000 : text);
    }
    free(text);
}

static const char *const headings[] = {
    "# sluice-bench report\n", "## Machine\n",    "## Baselines\n",
    "## Publish throughput\n", "## Pull + ack throughput\n", "## Latency\n",
    "## Disk per event\n",     "## Memory and restart\n",    "## Targets\n",
};

static int has_all_headings(const char *text)
{
    int ok = 1;
    for (size_t i = 0; i < sizeof headings / sizeof headings[0]; i++) {
        if (!strstr(text, headings[i])) {
            fprintf(stderr, "  missing heading: %s", headings[i]);
            ok = 0;
        }
    }
    return ok;
}

/* The row starting with lead: its "each round" column (the third) lists
 * n values. */
static int row_has_rounds(const char *text, const char *lead, int n)
{
    const char *row = strstr(text, lead);
    if (!row)
        return 0;
    const char *each = strchr(row + strlen(lead), '|'); /* after "measured" */
    if (!each)
        return 0;
    int values = 1;
    for (const char *p = each + 1; *p && *p != '|' && *p != '\n'; p++)
        values += *p == ',';
    return values == n;
}

/* After lead: how many comma-separated values come before `end`. 0 when
 * lead or end is missing. */
static int values_between(const char *text, const char *lead, const char *end)
{
    const char *from = strstr(text, lead);
    if (!from)
        return 0;
    from += strlen(lead);
    const char *to = strstr(from, end);
    if (!to)
        return 0;
    int values = 1;
    for (const char *p = from; p < to; p++)
        values += *p == ',';
    return values;
}

TEST(quick_run_writes_the_report)
{
    char *dir = test_tmpdir("bench");
    REQUIRE(dir);
    char report[4096];
    snprintf(report, sizeof report, "%s/r.md", dir);
    const char *args[] = {"--quick", "--rounds", "2", "--report", report, NULL};
    int rc = run_bench(dir, args, QUICK_TIMEOUT_MS);
    CHECK(rc == 0);
    if (rc != 0)
        show_file(dir, "stderr.txt");
    char *text = slurp(report);
    CHECK(text != NULL);
    if (text) {
        CHECK(has_all_headings(text));
        CHECK(strstr(text, "| payload | producers | batch | sluice |") != NULL);
        CHECK(strstr(text, "| sluice | publish |") != NULL);
        /* relaxed mode, measured beside: publishes and pulls, not its own pings */
        CHECK(strstr(text, "| payload | producers | batch | sluice | sluice (relaxed) |") != NULL);
        CHECK(strstr(text, "| sluice (relaxed) | publish |") != NULL);
        CHECK(strstr(text, "| sluice (relaxed) | ping") == NULL);
        CHECK(strstr(text, "  - sluice (relaxed): relaxed-sync: ") != NULL);
        CHECK(strstr(text, "| single publish p99 |") != NULL);
        CHECK(strstr(text, "| ping (stores nothing) | 64 | 1 |") != NULL);
        CHECK(strstr(text, "| sluice | ping (round trip alone) |") != NULL);
        CHECK(strstr(text, "sluice's round trip alone (ping, no storage)") != NULL);
        CHECK(strstr(text, "| a thread wakes a sleeping one (mutex + condition variable hand-off), median |") != NULL);
        CHECK(strstr(text, "Thread hand-offs: a ping wakes 4 sleeping threads") != NULL);
        /* the best of every system, as the floor under the fsync targets */
        CHECK(strstr(text, "The machine's floor under those targets, the best of every "
                           "system in this run: the fastest round trip alone, 64 clients "
                           "x 1, was ") != NULL);
        CHECK(strstr(text, "the lowest publish p99, durable or not, was ") != NULL);
        CHECK(strstr(text, "Group commit in sluice, round by round") != NULL);
        CHECK(strstr(text, "- 64 x 1 publishes: ") != NULL);
        CHECK(strstr(text, "- paced publishes at 10000/s: ") != NULL);
        /* the schedule alone, once a round, and the CPU the hypervisor took */
        CHECK(strstr(text, "| max | stolen CPU % |") != NULL);
        CHECK(strstr(text, "- CPU time stolen by the hypervisor over the whole run") != NULL);
        CHECK(strstr(text, "| - | the schedule alone (no request) | ") != NULL);
        CHECK(values_between(text, "The paced schedule alone (no request), in each round "
                                   "just before the paced publishes: the threads woke p50 ",
                             " ms and p99") == 2);
        CHECK(strstr(text, "failed") == NULL);
        /* two rounds: each target a system comparison reads has two values */
        CHECK(strstr(text, "| target | measured | each round | required | result |") != NULL);
        CHECK(row_has_rounds(text, "| publish 256 B, 4 producers x 1000: sluice / "
                                   "jetstream |", 2) ||
              !strstr(text, "| nats jetstream |"));
        CHECK(row_has_rounds(text, "| publish 256 B, 64 producers x 1: sluice events/s / "
                                   "fsyncs/s of one writer |", 2));
        CHECK(row_has_rounds(text, "| single publish p99 |", 2));
        CHECK(strstr(text, "before each round of sluice's 64 x 1 publish |") != NULL);
        CHECK(strstr(text, "| raw LMDB probe (as below) before each round of sluice's 256 B "
                           "4 x 1000 publish |") != NULL);
        CHECK(row_has_rounds(text, "| publish 256 B, 4 producers x 1000: sluice / raw LMDB "
                                   "appends |", 2));
        CHECK(strstr(text, "2 round(s) of the cells the targets read") != NULL);
        CHECK(strstr(text, "- warm-up: before each publish run and each raw LMDB "
                           "measurement") != NULL);
    }
    char out[4096];
    snprintf(out, sizeof out, "%s/stdout.txt", dir);
    char *printed = slurp(out);
    CHECK(printed && has_all_headings(printed)); /* the same tables on stdout */
    free(printed);
    free(text);
    test_rmtree(dir);
    free(dir);
}

TEST(bad_options_are_usage_errors)
{
    char *dir = test_tmpdir("bench-usage");
    REQUIRE(dir);
    const char *const cases[][3] = {
        {"--bogus", NULL, NULL},      {"--events", "0", NULL},  {"--events", "12x", NULL},
        {"--backlog", "-5", NULL},    {"--only", "kafka", NULL}, {"--report", NULL, NULL},
        {"--events", "99999999999999999999", NULL},
        {"--rounds", "0", NULL},      {"--rounds", "10", NULL},  {"--rounds", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = run_bench(dir, cases[i], 10000);
        if (rc != 2)
            fprintf(stderr, "  case %zu (%s): exit %d\n", i, cases[i][0], rc);
        CHECK(rc == 2);
    }
    const char *help[] = {"--help", NULL};
    CHECK(run_bench(dir, help, 10000) == 0);
    test_rmtree(dir);
    free(dir);
}

UNIT_MAIN("bench", UNIT_CASE(quick_run_writes_the_report), UNIT_CASE(bad_options_are_usage_errors))

/* stats.c: see stats.h. */
#include "stats.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_sleep_until_ns(uint64_t t_ns)
{
    struct timespec ts = {(time_t)(t_ns / 1000000000u), (long)(t_ns % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

int bench_precise_sleeps(void)
{
    return prctl(PR_SET_TIMERSLACK, 1ul, 0ul, 0ul, 0ul) == 0 ? 0 : -1;
}

int bench_cpu_read(bench_cpu *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    /* cpu user nice system idle iowait irq softirq steal [guest guest_nice]:
     * guest time is already counted in user and nice */
    unsigned long long v[8];
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n != 8)
        return -1;
    for (int i = 0; i < 8; i++)
        out->total += v[i];
    out->steal = v[7];
    return 0;
}

double bench_cpu_steal_pct(const bench_cpu *a, const bench_cpu *b)
{
    if (b->total <= a->total || b->steal < a->steal)
        return -1;
    return 100.0 * (double)(b->steal - a->steal) / (double)(b->total - a->total);
}

int bench_samples_init(bench_samples *s, size_t cap)
{
    memset(s, 0, sizeof *s);
    if (cap == 0)
        cap = 1;
    s->us = calloc(cap, sizeof *s->us);
    if (!s->us)
        return -1;
    s->cap = cap;
    return 0;
}

void bench_samples_free(bench_samples *s)
{
    free(s->us);
    memset(s, 0, sizeof *s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_samples_close(bench_samples *s, size_t n)
{
    s->n = n < s->cap ? n : s->cap;
    if (s->n > 1)
        qsort(s->us, s->n, sizeof *s->us, cmp_double);
}

double bench_percentile(const bench_samples *s, double p)
{
    if (s->n == 0)
        return 0;
    /* nearest rank: the smallest value with at least p% of samples <= it */
    double rank = p / 100.0 * (double)s->n;
    size_t i = (size_t)rank;
    if ((double)i < rank)
        i++;
    if (i == 0)
        i = 1;
    if (i > s->n)
        i = s->n;
    return s->us[i - 1];
}

double bench_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

size_t bench_median_index(const double *v, size_t n, bool upper)
{
    size_t want = upper ? n / 2 : (n - 1) / 2;
    for (size_t i = 0; i < n; i++) {
        size_t rank = 0;
        for (size_t j = 0; j < n; j++)
            rank += v[j] < v[i] || (v[j] == v[i] && j < i);
        if (rank == want)
            return i;
    }
    return 0;
}

/* The number after "key:" on a line of a /proc file, in kB; 0 when absent. */
static int proc_field_kib(const char *path, const char *const *keys, size_t nkeys,
                          uint64_t *sum)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    *sum = 0;
    while (fgets(line, sizeof line, f)) {
        for (size_t i = 0; i < nkeys; i++) {
            size_t klen = strlen(keys[i]);
            if (strncmp(line, keys[i], klen) == 0 && line[klen] == ':')
                *sum += strtoull(line + klen + 1, NULL, 10);
        }
    }
    fclose(f);
    return 0;
}

int bench_mem_read(pid_t pid, bench_mem *out)
{
    char status[64], rollup[64];
    snprintf(status, sizeof status, "/proc/%ld/status", (long)pid);
    snprintf(rollup, sizeof rollup, "/proc/%ld/smaps_rollup", (long)pid);
    static const char *const hwm[] = {"VmHWM"}, *const rss[] = {"VmRSS"};
    static const char *const priv[] = {"Private_Clean", "Private_Dirty"};
    static const char *const anon[] = {"Anonymous"};
    memset(out, 0, sizeof *out);
    if (proc_field_kib(status, hwm, 1, &out->hwm_kib) != 0 ||
        proc_field_kib(status, rss, 1, &out->rss_kib) != 0 ||
        proc_field_kib(rollup, priv, 2, &out->private_kib) != 0 ||
        proc_field_kib(rollup, anon, 1, &out->anon_kib) != 0) {
        fprintf(stderr, "sluice-bench: cannot read the memory of pid %ld: %s\n", (long)pid,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* Sum of st_blocks * 512 below path; depth bounds the recursion. */
static uint64_t disk_bytes_at(const char *path, int depth)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return S_ISREG(st.st_mode) ? (uint64_t)st.st_blocks * 512u : 0;
    if (depth > 16)
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    uint64_t sum = 0;
    struct dirent *e;
    char child[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(child, sizeof child, "%s/%s", path, e->d_name) >= (int)sizeof child)
            continue;
        sum += disk_bytes_at(child, depth + 1);
    }
    closedir(d);
    return sum;
}

uint64_t bench_dir_disk_bytes(const char *path)
{
    return disk_bytes_at(path, 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int bench_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

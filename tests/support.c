/* support.c: see support.h. */
#include "support.h"

#include <ftw.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/bytes.h"

char *test_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    size_t n = strlen(base) + strlen(tag) + 32;
    char *path = malloc(n);
    if (!path)
        return NULL;
    snprintf(path, n, "%s/sluice-%s-XXXXXX", base, tag);
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int test_rmtree(const char *path)
{
    if (!path)
        return 0;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t test_wall_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

uint64_t test_mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

void test_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* ---- a real sluiced -------------------------------------------------------- */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

int test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

int test_wait_ping(const char *url, unsigned timeout_ms)
{
    /* {"v": 1, "op": "ping"} */
    static const unsigned char ping[] = {0x82, 0xa1, 'v', 0x01, 0xa2, 'o', 'p',
                                         0xa4, 'p',  'i', 'n',  'g'};
    uint64_t deadline = test_mono_ms() + timeout_ms;
    nng_socket s;
    if (nng_req0_open(&s) != 0)
        return -1;
    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 500);
    nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 500);
    nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    int rc = -1;
    bool dialed = false;
    while (rc != 0 && test_mono_ms() < deadline) {
        if (!dialed)
            dialed = nng_dial(s, url, NULL, 0) == 0;
        if (dialed && nng_send(s, (void *)ping, sizeof ping, 0) == 0) {
            void *buf;
            size_t sz;
            if (nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC) == 0) {
                nng_free(buf, sz);
                rc = 0;
                break;
            }
        }
        test_sleep_ms(20);
    }
    nng_close(s);
    return rc;
}

static int spawn(test_daemon *d, const char *const *extra)
{
    const char *bin = getenv("SLUICED");
    if (!bin) {
        fprintf(stderr, "SLUICED is not set (run the tests with `scons test`)\n");
        return -1;
    }
    char data[TEST_URL_MAX + 16];
    snprintf(data, sizeof data, "%s/data", d->dir);
    const char *argv[64];
    int argc = 0;
    if (d->tmpfs_size[0]) {
        /* unshare -rm sh -c 'mount ... "$0" && exec "$@"' DATA SLUICED ARGS... */
        char script[128];
        snprintf(script, sizeof script,
                 "mount -t tmpfs -o size=%s tmpfs \"$0\" && exec \"$@\"", d->tmpfs_size);
        argv[argc++] = "/usr/bin/unshare";
        argv[argc++] = "-rm";
        argv[argc++] = "/bin/sh";
        argv[argc++] = "-c";
        argv[argc++] = script;
        argv[argc++] = data;
    }
    const char *prog = argc ? argv[0] : bin;
    argv[argc++] = bin;
    argv[argc++] = "--data";
    argv[argc++] = data;
    argv[argc++] = "--listen";
    argv[argc++] = d->url;
    argv[argc++] = "--log-level";
    argv[argc++] = "debug";
    for (int i = 0; extra && extra[i] && argc < 62; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    pid_t pid;
    if (test_proc_spawn(&pid, prog, argv, d->log_path) != 0)
        return -1;
    d->pid = pid;
    uint64_t deadline = test_mono_ms() + 10000;
    int up = -1;
    while (up != 0 && test_daemon_alive(d) && test_mono_ms() < deadline)
        up = test_wait_ping(d->url, 250);
    if (up != 0) {
        fprintf(stderr, "sluiced did not answer on %s; its log is %s\n", d->url, d->log_path);
        test_daemon_kill(d);
        return -1;
    }
    return 0;
}

int test_daemon_start(test_daemon *d, const char *url, const char *const *extra)
{
    memset(d, 0, sizeof *d);
    d->dir = test_tmpdir("daemon");
    if (!d->dir)
        return -1;
    if (url)
        snprintf(d->url, sizeof d->url, "%s", url);
    else
        snprintf(d->url, sizeof d->url, "ipc://%s/sluiced.sock", d->dir);
    snprintf(d->log_path, sizeof d->log_path, "%s/sluiced.log", d->dir);
    return spawn(d, extra);
}

int test_daemon_start_tmpfs(test_daemon *d, const char *size, const char *const *extra)
{
    if (system("unshare -rm sh -c 'mount -t tmpfs -o size=1m tmpfs /mnt' >/dev/null 2>&1") != 0)
        return 1;
    memset(d, 0, sizeof *d);
    d->dir = test_tmpdir("tmpfs");
    if (!d->dir)
        return -1;
    snprintf(d->tmpfs_size, sizeof d->tmpfs_size, "%s", size);
    snprintf(d->url, sizeof d->url, "ipc://%s/sluiced.sock", d->dir);
    snprintf(d->log_path, sizeof d->log_path, "%s/sluiced.log", d->dir);
    char data[TEST_URL_MAX + 16];
    snprintf(data, sizeof data, "%s/data", d->dir);
    if (mkdir(data, 0750) != 0)
        return -1;
    return spawn(d, extra);
}

int test_daemon_restart(test_daemon *d, const char *const *extra)
{
    return spawn(d, extra);
}

int test_daemon_alive(test_daemon *d)
{
    return test_proc_alive(&d->pid);
}

int test_daemon_stop(test_daemon *d)
{
    int status = test_proc_stop(&d->pid, 10000);
    if (status == -2)
        fprintf(stderr, "sluiced did not stop within 10 s; it was killed\n");
    return status < 0 ? -1 : status;
}

void test_daemon_kill(test_daemon *d)
{
    test_proc_kill(&d->pid);
}

/* ---- child processes ----------------------------------------------------- */

int test_proc_spawn(pid_t *pid, const char *prog, const char *const *argv, const char *log_path)
{
    pid_t p = fork();
    if (p < 0)
        return -1;
    if (p == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    *pid = p;
    return 0;
}

int test_proc_alive(pid_t *pid)
{
    if (*pid <= 0)
        return 0;
    int status;
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
        *pid = 0;
        return 0;
    }
    return 1;
}

int test_proc_stop(pid_t *pid, unsigned timeout_ms)
{
    if (*pid <= 0)
        return -1;
    kill(*pid, SIGTERM);
    uint64_t deadline = test_mono_ms() + timeout_ms;
    int status = 0;
    while (test_mono_ms() < deadline) {
        if (waitpid(*pid, &status, WNOHANG) == *pid) {
            *pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        test_sleep_ms(10);
    }
    test_proc_kill(pid);
    return -2;
}

void test_proc_kill(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

int test_log_has_sanitizer_report(const char *log_path)
{
    FILE *f = fopen(log_path, "r");
    if (!f)
        return 0;
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "AddressSanitizer") || strstr(line, "LeakSanitizer") ||
                strstr(line, "runtime error:");
    fclose(f);
    return found;
}

int test_daemon_log_has_sanitizer_report(const test_daemon *d)
{
    return test_log_has_sanitizer_report(d->log_path);
}

static void print_log_tail(const test_daemon *d)
{
    char cmd[TEST_URL_MAX + 128];
    snprintf(cmd, sizeof cmd, "tail -n 40 '%s' >&2", d->log_path);
    if (system(cmd) != 0)
        fprintf(stderr, "(cannot show %s)\n", d->log_path);
}

int test_daemon_cleanup(test_daemon *d)
{
    int rc = 0;
    if (d->pid > 0 && test_daemon_stop(d) != 0) {
        fprintf(stderr, "  sluiced did not exit cleanly on SIGTERM\n");
        rc = -1;
    }
    if (d->dir && test_daemon_log_has_sanitizer_report(d)) {
        fprintf(stderr, "  sanitizer report in the daemon's log:\n");
        rc = -1;
    }
    if (rc != 0 && d->dir)
        print_log_tail(d);
    if (d->dir) {
        if (getenv("SLUICE_KEEP_TEST_DIRS"))
            fprintf(stderr, "kept %s\n", d->dir);
        else
            test_rmtree(d->dir);
        free(d->dir);
        d->dir = NULL;
    }
    return rc;
}

int test_lmdb_put_u32(const char *dir, const char *dbname, const char *key, uint32_t v)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    uint8_t buf[4];
    sl_put_u32(buf, v);
    if (mdb_env_create(&env) != 0)
        return -1;
    mdb_env_set_maxdbs(env, 32);
    int rc = mdb_env_open(env, dir, 0, 0640);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, dbname, MDB_CREATE, &dbi);
        MDB_val k = {strlen(key), (void *)key}, val = {sizeof buf, buf};
        if (rc == 0)
            rc = mdb_put(txn, dbi, &k, &val, 0);
        rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    }
    mdb_env_close(env);
    return rc;
}

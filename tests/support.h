/* support.h: helpers shared by the test programs: temporary directories,
 * time, and (for integration tests) a real sluiced started on loopback. */
#ifndef SLUICE_TESTS_SUPPORT_H
#define SLUICE_TESTS_SUPPORT_H

#include <stdint.h>
#include <stdbool.h>
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

/* Put key = v (a big-endian u32) into the database dbname of the closed
 * store at dir with raw LMDB, behind the store's back (e.g. meta "format").
 * Returns 0 or LMDB's error. */
int test_lmdb_put_u32(const char *dir, const char *dbname, const char *key, uint32_t v);

/* ---- a real sluiced for integration tests ------------------------------ */

#define TEST_URL_MAX 256

typedef struct test_daemon {
    pid_t pid;                   /* 0 when not running */
    char *dir;                   /* temp dir holding data/ and the log (owned) */
    char url[TEST_URL_MAX];      /* where it listens (ipc:// in dir, or tcp) */
    char log_path[TEST_URL_MAX + 64]; /* its stderr */
    char tmpfs_size[16];         /* "" or e.g. "3m": data/ is a tmpfs of that size */
} test_daemon;

/* Start $SLUICED (env var; set by `scons test`) on a new temp dir, listening
 * on url (NULL: an ipc:// socket in the dir), with extra flags (NULL-ended
 * array, may be NULL), and wait until it answers a ping (at most 10 s).
 * Returns 0 or -1. Stop with test_daemon_stop (or _kill), then
 * test_daemon_cleanup to remove the dir. */
int test_daemon_start(test_daemon *d, const char *url, const char *const *extra);

/* Like test_daemon_start, but data/ is a private tmpfs of size bytes (e.g.
 * "3m"), mounted in a user+mount namespace (unshare -rm) so the disk really
 * fills up. Returns 1 (and starts nothing) when namespaces are not
 * available here, 0 when started, -1 on failure. */
int test_daemon_start_tmpfs(test_daemon *d, const char *size, const char *const *extra);

/* Start it again on the same dir and url (after stop or kill). */
int test_daemon_restart(test_daemon *d, const char *const *extra);

/* SIGTERM and wait (at most 10 s, then SIGKILL). Returns its exit status
 * (0 for a clean stop) or -1. */
int test_daemon_stop(test_daemon *d);

/* SIGKILL and reap. */
void test_daemon_kill(test_daemon *d);

/* Stop if running (SIGTERM), remove the temp dir, free. Returns -1 when the
 * daemon did not exit cleanly or its log holds a sanitizer report (the log
 * is then printed), else 0: tests CHECK it. */
int test_daemon_cleanup(test_daemon *d);

/* 1 when the daemon's log holds an ASan/UBSan/LSan report. */
int test_daemon_log_has_sanitizer_report(const test_daemon *d);

/* True when the process is still alive. */
int test_daemon_alive(test_daemon *d);

/* ---- any child process ------------------------------------------------- */

/* fork + execv(prog, argv) with stdout and stderr appended to log_path and
 * stdin from /dev/null; *pid gets the child. 0 or -1. */
int test_proc_spawn(pid_t *pid, const char *prog, const char *const *argv, const char *log_path);
/* True while *pid runs (reaps it and sets *pid = 0 once it exited). */
int test_proc_alive(pid_t *pid);
/* SIGTERM and wait up to timeout_ms: its exit status, -1 (killed by a
 * signal or not running) or -2 (did not stop: SIGKILLed). *pid = 0 after. */
int test_proc_stop(pid_t *pid, unsigned timeout_ms);
/* SIGKILL and reap; *pid = 0. */
void test_proc_kill(pid_t *pid);
/* 1 when the log at log_path holds an ASan/UBSan/LSan report. */
int test_log_has_sanitizer_report(const char *log_path);

/* Send a ping to url until one is answered or timeout_ms passes. 0 or -1. */
int test_wait_ping(const char *url, unsigned timeout_ms);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int test_free_port(void);

#endif

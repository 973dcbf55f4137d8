/* server_proc.h: a comparison server (redis-server, nats-server) as a child
 * process of the benchmark, for driver_redis.c and driver_jetstream.c only.
 *
 * A server_proc is spawned with its stdout and stderr appended to a log file,
 * polled until a driver-supplied probe answers (bounded), and stopped with
 * SIGTERM, then SIGKILL when it has not exited after 10 s. The helpers also
 * find a free loopback port, find an installed binary and measure the disk
 * space a directory tree takes.
 *
 * Errors: every function that can fail returns 0 or -1 after printing why on
 * stderr (prefixed with the server's name). No global state: the caller owns
 * the server_proc and must stop it before dropping it.
 */
#ifndef SLUICE_BENCH_SERVER_PROC_H
#define SLUICE_BENCH_SERVER_PROC_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

/* One child server process. */
typedef struct server_proc {
    const char *name;         /* short label for messages, e.g. "redis" (static string) */
    pid_t pid;                /* the running child, 0 when none */
    int term_exit_code;       /* its exit code after a clean SIGTERM shutdown */
    char log_path[PATH_MAX];  /* file its stdout and stderr are appended to */
} server_proc;

/* Probe: 0 when the server answered a real request, -1 when not (yet). Must
 * itself be bounded in time (short connect and reply timeouts). */
typedef int (*server_probe_fn)(void *ctx);

/* Find an executable: fixed_path when it is executable (access X_OK), else
 * name searched in $PATH. On success copies the path into out (out_len
 * bytes) and returns 0; returns -1 (silently) when it is not installed. */
int server_proc_find(const char *fixed_path, const char *name, char *out, size_t out_len);

/* A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then
 * closed; another process could take it before the server does, in which
 * case the server fails to start and says so in its log). 0 or -1. */
int server_proc_free_port(const char *name, int *port);

/* Start argv[0] (a path) with arguments argv (NULL-terminated), stdin from
 * /dev/null, stdout and stderr appended to log_path, default signal
 * dispositions and an empty signal mask. term_exit_code: what the server
 * exits with after a clean shutdown on SIGTERM (redis-server 0, nats-server
 * 1). proc must not be running; on success proc->pid is the child's pid.
 * 0 or -1 (e.g. log file cannot be opened, spawn failed). name must be a
 * static string; argv and log_path are used only during the call. */
int server_proc_spawn(server_proc *proc, const char *name, char *const argv[],
                      const char *log_path, int term_exit_code);

/* Poll probe(ctx) every 10 ms until it returns 0 (returns 0), the child exits
 * (returns -1, pointing at the log) or timeout_ms pass (returns -1). */
int server_proc_wait_ready(server_proc *proc, server_probe_fn probe, void *ctx,
                           double timeout_ms);

/* Stop the child: SIGTERM, wait up to 10 s, then SIGKILL and reap it. Does
 * nothing when no child is running. Returns 0 when it exited on SIGTERM with
 * its term_exit_code, -1 otherwise (it is reaped in every case; proc->pid becomes 0). */
int server_proc_stop(server_proc *proc);

/* Stop the child and start it again with launch(ctx) (which spawns it and
 * waits until it answers); *ready_ms gets the time launch took. Returns 0, or
 * -1 when launch failed. name is for the message about an unclean stop. */
int server_proc_restart(server_proc *proc, const char *name, int (*launch)(void *ctx),
                        void *ctx, double *ready_ms);

/* Bytes the regular files under dir take on disk (sum of st_blocks * 512,
 * not following symlinks, at most 32 levels deep). 0 when dir does not
 * exist. Files vanishing during the walk are skipped. */
uint64_t server_proc_disk_bytes(const char *dir);

/* Milliseconds on the monotonic clock (for ready times). */
double server_proc_now_ms(void);

#endif

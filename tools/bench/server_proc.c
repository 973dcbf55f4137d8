/* server_proc.c: spawn, probe, stop a comparison server; see server_proc.h. */
#include "tools/bench/server_proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum {
    POLL_MS = 10,          /* between probes and between exit checks */
    TERM_GRACE_MS = 10000, /* SIGTERM to SIGKILL */
    MAX_DEPTH = 32         /* directory levels disk_bytes descends */
};

double server_proc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int copy_path(const char *path, char *out, size_t out_len)
{
    int n = snprintf(out, out_len, "%s", path);
    return (n < 0 || (size_t)n >= out_len) ? -1 : 0;
}

int server_proc_find(const char *fixed_path, const char *name, char *out, size_t out_len)
{
    if (fixed_path != NULL && access(fixed_path, X_OK) == 0)
        return copy_path(fixed_path, out, out_len);
    const char *path = getenv("PATH");
    if (path == NULL || name == NULL)
        return -1;
    char dirs[4096];
    if (copy_path(path, dirs, sizeof dirs) != 0)
        return -1;
    char *save = NULL;
    for (char *dir = strtok_r(dirs, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
        char candidate[PATH_MAX];
        int n = snprintf(candidate, sizeof candidate, "%s/%s", dir, name);
        if (n > 0 && (size_t)n < sizeof candidate && access(candidate, X_OK) == 0)
            return copy_path(candidate, out, out_len);
    }
    return -1;
}

int server_proc_free_port(const char *name, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "%s: socket: %s\n", name, strerror(errno));
        return -1;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t addr_len = sizeof addr;
    int rc = -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        fprintf(stderr, "%s: bind 127.0.0.1:0: %s\n", name, strerror(errno));
    else if (getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0)
        fprintf(stderr, "%s: getsockname: %s\n", name, strerror(errno));
    else {
        *port = ntohs(addr.sin_port);
        rc = 0;
    }
    close(fd);
    return rc;
}

/* stdin from /dev/null, stdout+stderr appended to log_path, no other fds. */
static int child_files(posix_spawn_file_actions_t *fa, const char *log_path)
{
    if (posix_spawn_file_actions_init(fa) != 0)
        return -1;
    if (posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0) != 0
        || posix_spawn_file_actions_addopen(fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND,
                                            0644) != 0
        || posix_spawn_file_actions_adddup2(fa, 1, 2) != 0
        || posix_spawn_file_actions_addclosefrom_np(fa, 3) != 0) {
        posix_spawn_file_actions_destroy(fa);
        return -1;
    }
    return 0;
}

/* Empty signal mask, every signal at its default (the client libraries
 * ignore SIGPIPE in this process; the server must not inherit that). */
static int child_signals(posix_spawnattr_t *attr)
{
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if (posix_spawnattr_init(attr) != 0)
        return -1;
    if (posix_spawnattr_setsigmask(attr, &none) != 0
        || posix_spawnattr_setsigdefault(attr, &all) != 0
        || posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0) {
        posix_spawnattr_destroy(attr);
        return -1;
    }
    return 0;
}

int server_proc_spawn(server_proc *proc, const char *name, char *const argv[],
                      const char *log_path, int term_exit_code)
{
    proc->name = name;
    proc->pid = 0;
    proc->term_exit_code = term_exit_code;
    if (copy_path(log_path, proc->log_path, sizeof proc->log_path) != 0) {
        fprintf(stderr, "%s: log path too long\n", name);
        return -1;
    }
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        fprintf(stderr, "%s: open %s: %s\n", name, log_path, strerror(errno));
        return -1;
    }
    close(log_fd);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    if (child_files(&fa, log_path) != 0) {
        fprintf(stderr, "%s: cannot prepare the child's files\n", name);
        return -1;
    }
    if (child_signals(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        fprintf(stderr, "%s: cannot prepare the child's signals\n", name);
        return -1;
    }
    pid_t pid;
    int err = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
        fprintf(stderr, "%s: cannot start %s: %s\n", name, argv[0], strerror(err));
        return -1;
    }
    proc->pid = pid;
    return 0;
}

/* Reap the child if it has exited: 1 when still running, 0 when it exited
 * (*status set, proc->pid cleared). */
static int still_running(server_proc *proc, int *status)
{
    pid_t r;
    do {
        r = waitpid(proc->pid, status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return 1;
    if (r < 0)
        *status = -1; /* not our child any more (reaped elsewhere) */
    proc->pid = 0;
    return 0;
}

int server_proc_wait_ready(server_proc *proc, server_probe_fn probe, void *ctx,
                           double timeout_ms)
{
    double deadline = server_proc_now_ms() + timeout_ms;
    for (;;) {
        if (probe(ctx) == 0)
            return 0;
        int status;
        if (proc->pid == 0 || !still_running(proc, &status)) {
            fprintf(stderr, "%s: server exited during start-up; see %s\n", proc->name,
                    proc->log_path);
            return -1;
        }
        if (server_proc_now_ms() >= deadline) {
            fprintf(stderr, "%s: server not ready after %.0f ms; see %s\n", proc->name,
                    timeout_ms, proc->log_path);
            return -1;
        }
        sleep_ms(POLL_MS);
    }
}

static void kill_and_reap(server_proc *proc)
{
    kill(proc->pid, SIGKILL);
    int status;
    while (waitpid(proc->pid, &status, 0) < 0 && errno == EINTR) {
    }
    proc->pid = 0;
}

int server_proc_stop(server_proc *proc)
{
    if (proc->pid <= 0)
        return 0;
    if (kill(proc->pid, SIGTERM) != 0) {
        fprintf(stderr, "%s: kill %d: %s\n", proc->name, (int)proc->pid, strerror(errno));
        kill_and_reap(proc);
        return -1;
    }
    double deadline = server_proc_now_ms() + TERM_GRACE_MS;
    int status = 0;
    while (still_running(proc, &status)) {
        if (server_proc_now_ms() >= deadline) {
            fprintf(stderr, "%s: no exit %d s after SIGTERM: SIGKILL\n", proc->name,
                    TERM_GRACE_MS / 1000);
            kill_and_reap(proc);
            return -1;
        }
        sleep_ms(POLL_MS);
    }
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != proc->term_exit_code) {
        if (status != -1 && WIFSIGNALED(status))
            fprintf(stderr, "%s: server killed by signal %d; see %s\n", proc->name,
                    WTERMSIG(status), proc->log_path);
        else
            fprintf(stderr, "%s: server ended uncleanly (exit code %d); see %s\n", proc->name,
                    status == -1 ? -1 : WEXITSTATUS(status), proc->log_path);
        return -1;
    }
    return 0;
}

/* Sum over the entries of the open directory dir_fd (taken over and
 * closed). */
static uint64_t dir_bytes(int dir_fd, int depth)
{
    DIR *dir = fdopendir(dir_fd);
    if (dir == NULL) {
        close(dir_fd);
        return 0;
    }
    uint64_t sum = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* vanished meanwhile */
        if (S_ISREG(st.st_mode))
            sum += (uint64_t)st.st_blocks * 512u;
        else if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
            int sub = openat(dirfd(dir), entry->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                sum += dir_bytes(sub, depth + 1);
        }
    }
    closedir(dir);
    return sum;
}

uint64_t server_proc_disk_bytes(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? 0 : dir_bytes(fd, 0);
}

int server_proc_restart(server_proc *proc, const char *name, int (*launch)(void *ctx),
                        void *ctx, double *ready_ms)
{
    if (server_proc_stop(proc) != 0)
        fprintf(stderr, "%s: restarting after an unclean stop\n", name);
    double t0 = server_proc_now_ms();
    if (launch(ctx) != 0)
        return -1;
    *ready_ms = server_proc_now_ms() - t0;
    return 0;
}

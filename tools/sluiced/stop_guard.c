/* stop_guard.c: see stop_guard.h. */
#include "stop_guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "logger.h"

struct sl_stop_guard {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* on CLOCK_MONOTONIC */
    struct timespec deadline;
    bool disarmed;           /* under mu */
    unsigned ms;
    const char *what;
};

static void *guard_main(void *arg)
{
    sl_stop_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    int rc = 0;
    while (!g->disarmed && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&g->cv, &g->mu, &g->deadline);
    bool fire = !g->disarmed;
    pthread_mutex_unlock(&g->mu);
    if (fire) {
        sl_log_warn("shutdown: %s took more than %u ms (nng 1.5.2 can wait forever for a "
                    "connection to close); exiting now: everything acknowledged is durable",
                    g->what, g->ms);
        _exit(0);
    }
    return NULL;
}

static int guard_init(sl_stop_guard *g)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&g->mu, NULL) != 0) {
        pthread_cond_destroy(&g->cv);
        return -1;
    }
    return 0;
}

sl_stop_guard *sl_stop_guard_arm(unsigned ms, const char *what)
{
    sl_stop_guard *g = calloc(1, sizeof *g);
    if (!g || guard_init(g) != 0) {
        free(g);
        sl_log_warn("shutdown: cannot bound how long %s takes (out of resources)", what);
        return NULL;
    }
    g->ms = ms;
    g->what = what;
    clock_gettime(CLOCK_MONOTONIC, &g->deadline);
    g->deadline.tv_sec += ms / 1000;
    g->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (g->deadline.tv_nsec >= 1000000000L) {
        g->deadline.tv_sec++;
        g->deadline.tv_nsec -= 1000000000L;
    }
    if (pthread_create(&g->thread, NULL, guard_main, g) != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        free(g);
        sl_log_warn("shutdown: cannot bound how long %s takes (no thread)", what);
        return NULL;
    }
    return g;
}

void sl_stop_guard_disarm(sl_stop_guard *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->disarmed = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

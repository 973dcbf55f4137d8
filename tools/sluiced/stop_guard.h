/* stop_guard.h: a bound on how long the last steps of a shutdown may take.
 *
 * nng 1.5.2 can wait forever in nng_close on the REP socket for a pipe that
 * never finishes closing. It happened after clients sent requests faster
 * than they read the replies and then went away (nng issue #1543 reports
 * the same wait, fixed after 1.5.2). When the daemon closes its transports
 * the writer has already stopped and checkpointed, so nothing acknowledged
 * depends on the rest of the shutdown. An armed guard lets that rest take
 * `ms` at most; then it logs what was stuck and ends the process at once
 * with status 0, as a finished shutdown would.
 *
 * Ownership: sl_stop_guard_arm returns a guard that the caller ends with
 * sl_stop_guard_disarm, which frees it. */
#ifndef SLUICE_SLUICED_STOP_GUARD_H
#define SLUICE_SLUICED_STOP_GUARD_H

typedef struct sl_stop_guard sl_stop_guard;

/* Start the clock for `what` (a static string, for the log). NULL when the
 * guard's thread cannot start: the shutdown then goes on unguarded (logged). */
sl_stop_guard *sl_stop_guard_arm(unsigned ms, const char *what);

/* The guarded steps ended in time: stop the clock and free g. NULL is
 * ignored. */
void sl_stop_guard_disarm(sl_stop_guard *g);

#endif

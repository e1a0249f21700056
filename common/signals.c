/*
 * signals.c - stopping cleanly on Ctrl-C (SIGINT) or kill (SIGTERM).
 *
 * The handler only sets a flag: almost nothing else is safe to do inside a
 * signal handler. Because it is installed without SA_RESTART, a call that
 * is blocked when the signal arrives (accept, read, write) fails with EINTR,
 * and the loop around it sees the flag, cleans up and returns from main.
 * Returning from main, rather than dying of the signal, is what lets the
 * program close its sockets and lets leak checkers report.
 *
 * One window remains: a signal that lands after the loop has checked the
 * flag but before it blocks in accept() is noticed only at the next
 * connection or the next signal. Lesson 05 closes that window with pselect().
 *
 * Needs errors.c, only to report a failed sigaction(). The flag is the
 * caller's to pass on: read_full(..., &stop_requested) and the lessons'
 * loops show where a stop is noticed.
 */
#define _POSIX_C_SOURCE 200809L

#include "signals.h"
#include "errors.h"

#include <string.h>

atomic_int stop_requested = 0;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler may set only a lock-free atomic");

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void catch_stop_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                /* no SA_RESTART: blocked calls return EINTR */
    sa.sa_handler = on_stop_signal;
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
        die_errno("sigaction");
    /* A write to a closed connection then fails with EPIPE, not death. */
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) == -1)
        die_errno("sigaction");
}

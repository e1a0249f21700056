/*
 * signals.h - a clean stop on SIGINT/SIGTERM (signals.c). signals.c needs
 * errors.c (die_errno) only to report a failed sigaction().
 */
#ifndef SOCKLAB_SIGNALS_H
#define SOCKLAB_SIGNALS_H

#include <signal.h>
#include <stdatomic.h>

/*
 * Set to 1 by SIGINT or SIGTERM once catch_stop_signals() is in force.
 * A lock-free atomic rather than the classic volatile sig_atomic_t: the
 * handler runs in one thread and lesson 04's threads read the flag in
 * others, and C11 lets only an atomic be shared both ways.
 */
extern atomic_int stop_requested;

/*
 * SIGINT and SIGTERM set stop_requested and interrupt a blocked call with
 * EINTR; SIGPIPE is ignored, so writing to a vanished peer gives EPIPE
 * instead of killing the process.
 */
void catch_stop_signals(void);

#endif

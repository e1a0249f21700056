/*
 * log.h - the log line of lesson 10's servers: one write(2) to standard
 * output that a stop signal never leaves waiting. Header-only, as unix.h.
 *
 * printf() to a pipe that nobody reads (`server | less`, stopped) blocks
 * in write(), and a stop signal interrupts only the write it lands in: the
 * next printf() would block again, and the server never gets back to its
 * loop. So the stop flag is checked before each write, and once it is set
 * lines are dropped; the summary after a stop is written only if the pipe
 * has room at that moment. One write per line also keeps the lines of
 * handoff's processes, which share the pipe, from mixing.
 */
#ifndef LOG_H
#define LOG_H

#include "socklab.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

/* Writes the line; last: once, only if there is room now (after a stop). */
static inline void log_write(int last, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static inline void log_write(int last, const char *fmt, va_list ap)
{
    char line[512];
    size_t len, done = 0;
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);

    if (n < 0)
        return;
    len = (size_t)n < sizeof line - 1 ? (size_t)n : sizeof line - 2;
    line[len++] = '\n';
    if (last) {
        struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};

        /* Room now, or the line is dropped: a stopped server waits for nobody. */
        if (poll(&p, 1, 0) == 1 && write(STDOUT_FILENO, line, len) == -1)
            warn_errno("write standard output");
        return;
    }
    while (done < len && !stop_requested) {
        ssize_t w = write(STDOUT_FILENO, line + done, len - done);

        if (w == -1 && errno != EINTR)
            return;                 /* nowhere to log to */
        if (w > 0)
            done += (size_t)w;
    }
}

/* A line of the log, dropped once a stop is requested. */
static inline void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void log_line(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_write(0, fmt, ap);
    va_end(ap);
}

/* The summary after a stop: written if the pipe has room, never waited for. */
static inline void log_last(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void log_last(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_write(1, fmt, ap);
    va_end(ap);
}

#endif

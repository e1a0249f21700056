/*
 * rxio.h - lesson 09's receive: its log line and its reads. Header-only
 * (static inline): every .c file in a lesson directory is a program.
 *
 * The receiver's threads must notice a stop within TICK_MS, even while a
 * sender streams at them or goes quiet, and must tell a sender why they
 * refuse it in a way that reaches the sender. The socket has SO_RCVTIMEO
 * of TICK_MS, so read() returns EAGAIN at least that often.
 */
#ifndef RXIO_H
#define RXIO_H

#include "socklab.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#define TICK_MS 100
#define IDLE_TICKS 300          /* 30 s without a byte: the sender is gone */

/* One line, one write(): a stalled log holds no stdio lock, and a stop
 * signal interrupts it. */
static inline void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void log_line(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n] = '\n';
    (void)!write(STDOUT_FILENO, line, (size_t)n + 1);
}

/* read() that waits through SO_RCVTIMEO ticks until data, end of file, an
 * error, the stop flag (-1/EINTR) or IDLE_TICKS quiet ticks (ETIMEDOUT). */
static inline ssize_t recv_some(int fd, void *buf, size_t len)
{
    for (int idle = 0; idle < IDLE_TICKS; idle++) {
        ssize_t n;

        if (stop_requested) {
            errno = EINTR;
            return -1;
        }
        n = read(fd, buf, len);
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return n;
    }
    errno = ETIMEDOUT;
    return -1;
}

/* Exactly len bytes; fewer only at end of file. */
static inline ssize_t recv_full(int fd, void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = recv_some(fd, (char *)buf + got, len - got);

        if (n <= 0) {
            if (n == 0)
                break;
            return -1;
        }
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/*
 * Tells the sender why, then reads what it still sends (for up to a
 * second) before closing: closing with unread data would send a reset,
 * which can destroy the reply before the sender reads it.
 */
static inline void refuse(int fd, const char *peer, const char *why)
{
    char buf[4096], reply[400];
    int n = snprintf(reply, sizeof reply, "ERR %s\n", why);

    log_line("%s: refused: %s", peer, why);
    /* Not interrupted by a stop: the reply says so. SO_SNDTIMEO bounds it. */
    (void)write_all(fd, reply, (size_t)n < sizeof reply ? (size_t)n : sizeof reply - 1, NULL);
    shutdown(fd, SHUT_WR);
    for (int ticks = 0; ticks < 1000 / TICK_MS && !stop_requested; ticks++) {
        ssize_t r = read(fd, buf, sizeof buf);

        if (r == 0 || (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            break;
        if (r > 0)
            ticks--;                /* still sending: not a quiet tick */
    }
}

#endif

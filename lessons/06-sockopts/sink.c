/*
 * Lesson 06 sink: reads everything a server sends, then says how much
 * arrived, how fast, and how the stream ended: end of file (the server
 * closed gracefully) or an error such as ECONNRESET (it aborted).
 *
 *     usage: sink [--rcvbuf BYTES] [--delay SEC] HOST PORT
 *
 *   --rcvbuf BYTES   SO_RCVBUF, set before connect(): the receive window
 *                    is agreed in the handshake, so later is too late for
 *                    part of its effect
 *   --delay SEC      wait SEC seconds before the first read: a slow reader,
 *                    so that the server closes while data is still on its way
 *
 * It also prints SO_RCVBUF as read back after connect() and at the end: with
 * no --rcvbuf, the second is larger, because Linux grows the buffer of a
 * busy connection by itself (receive autotuning).
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "options.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "[--rcvbuf BYTES] [--delay SEC] HOST PORT";

/*
 * socket, SO_RCVBUF, connect: tcp_connect() with one call in the middle.
 * The address connected to goes into addr (getpeername() would fail if
 * the server had already reset the connection).
 */
static int connect_with_rcvbuf(const char *host, const char *port, int rcvbuf,
                               char addr[ADDR_STRLEN])
{
    struct addrinfo hints, *list, *ai;
    int fd = -1, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        warn_msg("getaddrinfo %s: %s", host, gai_strerror(rc));
        return -1;
    }
    for (ai = list; ai != NULL && fd == -1; ai = ai->ai_next) {
        format_addr(ai->ai_addr, ai->ai_addrlen, addr);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            warn_errno("socket %s", addr);
            continue;
        }
        if (set_buffers(fd, rcvbuf, -1) == -1) {
            close(fd);
            fd = -1;
        } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
            warn_errno("connect %s", addr);
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    return fd;
}

static int rcvbuf_now(int fd)
{
    int value = -1;
    socklen_t len = sizeof value;

    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, &len) == -1)
        warn_errno("getsockopt SO_RCVBUF");
    return value;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char *argv[])
{
    const char *host, *port;
    char server[ADDR_STRLEN];
    static char buf[1 << 16];
    unsigned long long total = 0;
    struct timespec start;
    double secs;
    long delay_ms = 0;
    int fd, i, rcvbuf = -1, rcvbuf_start, eof = 0;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    for (i = 1; i < argc && is_flag(argv[i]); i++) {
        const char *f = argv[i];

        if (strcmp(f, "--rcvbuf") == 0)
            rcvbuf = bytes_flag(f, flag_value(argc, argv, &i, usage), usage);
        else if (strcmp(f, "--delay") == 0)
            delay_ms = seconds_flag(f, flag_value(argc, argv, &i, usage), usage);
        else
            usage_error(usage, "unknown option '%s'", f);
    }
    client_args(argc - i + 1, argv + i - 1, usage, &host, &port);
    setvbuf(stdout, NULL, _IOLBF, 0);

    fd = connect_with_rcvbuf(host, port, rcvbuf, server);
    if (fd == -1)
        return 1;
    rcvbuf_start = rcvbuf_now(fd);
    if (delay_ms > 0) {
        struct timespec pause = {.tv_sec = delay_ms / 1000, .tv_nsec = delay_ms % 1000 * 1000000};

        /* Meanwhile the kernel fills our receive buffer, and then stops. */
        nanosleep(&pause, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);

        if (n == 0) {
            eof = 1;
            break;
        }
        if (n == -1) {
            if (errno == EINTR)
                continue;
            /* ECONNRESET: the server closed with SO_LINGER {1, 0}. */
            warn_errno("read %s", server);
            break;
        }
        total += (unsigned long long)n;
    }
    secs = seconds_since(&start);
    printf("received %llu bytes in %.3f s (%.0f MiB/s), then %s\n", total, secs,
           secs > 0 ? (double)total / secs / 1048576 : 0.0,
           eof ? "end of file" : "an error");
    printf("SO_RCVBUF: %d after connect, %d at the end\n", rcvbuf_start, rcvbuf_now(fd));
    close(fd);
    return eof ? 0 : 1;
}

/*
 * Lesson 06 sink: reads everything a server sends, then says how much
 * arrived, how fast, and how the stream ended: end of file (the server
 * closed gracefully) or an error such as ECONNRESET (it aborted).
 *
 *     usage: sink [--rcvbuf BYTES] [--delay SEC] HOST PORT
 *
 *   -I, --rcvbuf BYTES   SO_RCVBUF, set before connect(): the receive window
 *                        is agreed in the handshake, so later is too late for
 *                        part of its effect
 *   -d, --delay SEC      wait SEC seconds before the first read: a slow reader,
 *                        so that the server closes while data is on its way
 *
 * It also prints SO_RCVBUF as read back after connect() and at the end: with
 * no --rcvbuf, the second is larger, because Linux grows the buffer of a
 * busy connection by itself (receive autotuning).
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "[--rcvbuf BYTES] [--delay SEC] HOST PORT";

static const char optstring[] = ":I:d:h";
static const struct long_flag long_flags[] = {
    {"--rcvbuf", "-I"}, {"--delay", "-d"}, {"--help", "-h"}, {NULL, NULL},
};

static int rcvbuf = -1;             /* -1: the kernel's choice */

/* Run by tcp_open() on the new socket, before connect(). */
static int before_connect(int fd)
{
    return set_buffers(fd, rcvbuf, -1);
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
    struct cmdline cl;
    int fd, c, rcvbuf_start, eof = 0;

    set_progname(argv[0]);
    split_args(argc, argv, optstring, long_flags, usage, &cl);
    while ((c = getopt(cl.flagc, cl.flagv, optstring)) != -1) {
        switch (c) {
        case 'I': rcvbuf = bytes_flag("--rcvbuf", optarg, usage); break;
        case 'd': delay_ms = seconds_flag("--delay", optarg, usage); break;
        case 'h': print_usage(usage); return 0;
        default: flag_error(c, long_flags, usage);
        }
    }
    client_args(cl.argc, cl.argv, usage, &host, &port);
    setvbuf(stdout, NULL, _IOLBF, 0);

    fd = tcp_open(host, port, 0, before_connect, server);
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

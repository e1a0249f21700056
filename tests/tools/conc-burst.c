/*
 * conc-burst - many short connections, as fast as they can go: connect,
 * send a line, read its echo, close.
 *
 *     usage: conc-burst HOST PORT COUNT [PARALLEL]
 *
 * Opens PARALLEL connections (default 1) at a time, COUNT in all. Prints
 * "served COUNT connections in S s (U us each)" and exits 0 when every
 * echo came back whole; prints what failed and exits 1 otherwise.
 * Against an iterative server PARALLEL must be 1: the second connection of
 * a round would wait for the first to close, which it never does.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "HOST PORT COUNT [PARALLEL]";

static long number(const char *s, long max)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < 1 || n > max)
        usage_error(usage, "invalid number '%s': expected 1 to %ld", s, max);
    return n;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[])
{
    static const char line[] = "one short line\n";
    char buf[sizeof line];
    long count, parallel, done = 0;
    int *fds;
    double start;

    set_progname(argv[0]);
    if (argc < 4 || argc > 5)
        usage_error(usage, "expected 3 or 4 arguments");
    count = number(argv[3], 10000000);
    parallel = argc == 5 ? number(argv[4], 1000) : 1;
    signal(SIGPIPE, SIG_IGN);
    fds = calloc((size_t)parallel, sizeof *fds);
    if (fds == NULL)
        die_errno("calloc");

    start = now();
    while (done < count) {
        long round = count - done < parallel ? count - done : parallel;

        for (long i = 0; i < round; i++) {
            fds[i] = tcp_connect(argv[1], argv[2]);
            if (fds[i] == -1)
                return 1;
            if (write_all(fds[i], line, sizeof line - 1, NULL) == -1)
                die_errno("write (connection %ld)", done + i + 1);
        }
        for (long i = 0; i < round; i++) {
            ssize_t n = read_full(fds[i], buf, sizeof line - 1, NULL);

            if (n == -1)
                die_errno("read (connection %ld)", done + i + 1);
            if ((size_t)n < sizeof line - 1) {
                warn_msg("connection %ld: closed after %zd bytes", done + i + 1, n);
                return 1;
            }
            close(fds[i]);
        }
        done += round;
    }
    {
        double s = now() - start;

        printf("served %ld connections in %.3f s (%.0f us each)\n",
               count, s, s * 1e6 / (double)count);
    }
    free(fds);
    return 0;
}

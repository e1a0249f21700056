/*
 * conc-hold - N clients connected at once, each served while all of them
 * hold their connections open: the proof that a server is concurrent.
 *
 *     usage: conc-hold HOST PORT N [SECONDS]
 *
 * Connects N times first, then sends one line on every connection, then
 * waits up to SECONDS (default 5) for every echo, watching all connections
 * together with poll(). Prints "served K of N". When all N were served it
 * prints "holding" and keeps the connections open until a signal ends it
 * (idle clients, for tests and for measuring what a connection costs).
 * Exit status: 1 when fewer than N were served, 2 for a usage error.
 *
 * An iterative server (lesson 02) serves the first connection only: the
 * others wait in its listen queue, and this prints "served 1 of N".
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "HOST PORT N [SECONDS]";

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
    struct pollfd *pfd;
    size_t *got, n, served = 0, waiting;
    double deadline;
    char line[32];

    set_progname(argv[0]);
    if (argc < 4 || argc > 5)
        usage_error(usage, "expected 3 or 4 arguments");
    n = (size_t)number(argv[3], 100000);
    deadline = now() + (argc == 5 ? (double)number(argv[4], 3600) : 5.0);
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    pfd = calloc(n, sizeof *pfd);
    got = calloc(n, sizeof *got);
    if (pfd == NULL || got == NULL)
        die_errno("calloc");

    /* All connected before any is served. */
    for (size_t i = 0; i < n; i++) {
        pfd[i].fd = tcp_connect(argv[1], argv[2]);
        if (pfd[i].fd == -1)
            return 1;
        pfd[i].events = POLLIN;
    }
    /* Every line is the same length, so every echo is too. */
    for (size_t i = 0; i < n; i++) {
        snprintf(line, sizeof line, "client %09zu\n", i);
        if (write_all(pfd[i].fd, line, strlen(line), NULL) == -1)
            die_errno("write");
    }

    for (waiting = n; waiting > 0;) {
        double left = deadline - now();
        int ready;

        if (left <= 0)
            break;
        ready = poll(pfd, (nfds_t)n, (int)(left * 1000) + 1);
        if (ready == -1 && errno != EINTR)
            die_errno("poll");
        for (size_t i = 0; i < n && ready > 0; i++) {
            ssize_t r;

            if (pfd[i].revents == 0)
                continue;
            r = read(pfd[i].fd, line, sizeof line);
            if (r <= 0) {       /* end of file or error: not served */
                pfd[i].fd = -pfd[i].fd - 1;   /* poll() skips negatives */
                waiting--;
                continue;
            }
            got[i] += (size_t)r;
            if (got[i] >= strlen("client 000000000\n")) {
                served++;
                pfd[i].fd = -pfd[i].fd - 1;
                waiting--;
            }
        }
    }
    printf("served %zu of %zu\n", served, n);
    if (served < n) {
        free(pfd);
        free(got);
        return 1;
    }
    printf("holding\n");
    for (;;)
        pause();
}

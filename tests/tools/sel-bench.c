/*
 * sel-bench - how the cost of one client's round trip grows with the number
 * of idle connections an echo server holds.
 *
 *     usage: sel-bench HOST PORT IDLE ROUNDS
 *
 * Opens IDLE connections that send nothing, then times ROUNDS round trips
 * of a 64-byte message on one more connection, and prints
 *
 *     idle 1000: 20000 round trips, 41.3 us each
 *
 * With select() the server scans every descriptor it watches on every turn
 * of its loop, so the time per round trip grows with IDLE; a server on
 * epoll would stay flat. Run it through tests/bench/sel-bench, which starts
 * the server.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "HOST PORT IDLE ROUNDS";

static void raise_fd_limit(rlim_t n)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        die_errno("getrlimit");
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= n + 16)
        return;
    rl.rlim_cur = n + 16;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
        rl.rlim_max = rl.rlim_cur;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        die_errno("setrlimit RLIMIT_NOFILE %lu", (unsigned long)rl.rlim_cur);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[])
{
    char msg[64], back[64];
    unsigned long idle, rounds;
    int fd;
    double start, took;

    set_progname(argv[0]);
    if (argc != 5)
        usage_error(usage, "expected a host, a port and two counts");
    idle = strtoul(argv[3], NULL, 10);
    rounds = strtoul(argv[4], NULL, 10);
    if (rounds == 0)
        usage_error(usage, "ROUNDS must be at least 1");
    raise_fd_limit(idle + 1);

    for (unsigned long i = 0; i < idle; i++)
        if (tcp_connect(argv[1], argv[2]) == -1)
            return 1;
    fd = tcp_connect(argv[1], argv[2]);
    if (fd == -1)
        return 1;
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (char)('a' + i % 26);

    start = now();
    for (unsigned long i = 0; i < rounds; i++) {
        ssize_t n;

        if (write_all(fd, msg, sizeof msg, NULL) == -1)
            die_errno("write");
        n = read_full(fd, back, sizeof back, NULL);
        if (n != (ssize_t)sizeof back) {
            if (n == -1)
                die_errno("read");
            warn_msg("the server closed the connection (refused? descriptor limit?)");
            return 1;
        }
    }
    took = now() - start;
    printf("idle %lu: %lu round trips, %.1f us each\n", idle, rounds,
           took * 1e6 / (double)rounds);
    return 0;   /* exit closes every connection */
}

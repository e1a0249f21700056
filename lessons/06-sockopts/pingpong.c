/*
 * Lesson 06 pingpong: request/response rounds against the lesson 06
 * server, timed, to show the Nagle algorithm meeting delayed ACKs.
 *
 *     usage: pingpong [--nodelay] [--one-write] [--rounds N] HOST PORT
 *
 * Each round writes a request in two small pieces ("ping " and "7\n"), then
 * reads the one-line reply: write, write, read. The second write waits in
 * the kernel (Nagle: no new small segment while one is unacknowledged), and
 * the server's kernel delays its ACK hoping to send it with a reply that
 * cannot come before the rest of the line. About 40 ms pass on Linux
 * before the delayed ACK gives up, every round.
 *
 *   -n, --nodelay    TCP_NODELAY: send each write at once
 *   -o, --one-write  build the request in memory and write it once: the
 *                    better cure, one segment instead of two, no option
 *   -c, --rounds N   how many rounds (default 20)
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "options.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "[--nodelay] [--one-write] [--rounds N] HOST PORT";

static const char optstring[] = ":noc:h";
static const struct long_flag long_flags[] = {
    {"--nodelay", "-n"}, {"--one-write", "-o"}, {"--rounds", "-c"}, {"--help", "-h"},
    {NULL, NULL},
};

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One round: the request (in one or two writes), then its echo. */
static int round_trip(int fd, int one_write, unsigned long r)
{
    char body[32], request[64], reply[64];
    int blen = snprintf(body, sizeof body, "%lu\n", r);
    size_t want;
    ssize_t got;

    if (one_write) {
        want = (size_t)snprintf(request, sizeof request, "ping %s", body);
        if (write_all(fd, request, want, NULL) == -1)
            return -1;
    } else {
        want = 5 + (size_t)blen;
        if (write_all(fd, "ping ", 5, NULL) == -1 || write_all(fd, body, (size_t)blen, NULL) == -1)
            return -1;
    }
    got = read_full(fd, reply, want, NULL);
    if (got == -1)
        return -1;
    if ((size_t)got < want) {
        errno = 0;              /* end of file: no errno to report */
        return -1;
    }
    return 0;
}

int main(int argc, char *argv[])
{
    const char *host, *port;
    char server[ADDR_STRLEN];
    unsigned long rounds = 20;
    struct cmdline cl;
    int fd, c, nodelay = 0, one_write = 0;
    double start, secs;

    set_progname(argv[0]);
    split_args(argc, argv, optstring, long_flags, usage, &cl);
    while ((c = getopt(cl.flagc, cl.flagv, optstring)) != -1) {
        switch (c) {
        case 'n': nodelay = 1; break;
        case 'o': one_write = 1; break;
        case 'c': rounds = count_flag("--rounds", optarg, 1000000, usage); break;
        case 'h': print_usage(usage); return 0;
        default: flag_error(c, long_flags, usage);
        }
    }
    client_args(cl.argc, cl.argv, usage, &host, &port);
    signal(SIGPIPE, SIG_IGN);

    fd = tcp_connect(host, port);
    if (fd == -1)
        return 1;
    peer_addr(fd, server);
    if (nodelay && set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 1) == -1) {
        close(fd);
        return 1;
    }
    start = now();
    for (unsigned long r = 1; r <= rounds; r++) {
        if (round_trip(fd, one_write, r) == -1) {
            if (errno != 0)
                warn_errno("round %lu with %s", r, server);
            else
                warn_msg("round %lu: %s closed the connection", r, server);
            close(fd);
            return 1;
        }
    }
    secs = now() - start;
    printf("%lu rounds in %.3f s: %.3f ms per round\n", rounds, secs, secs * 1000 / (double)rounds);
    close(fd);
    return 0;
}

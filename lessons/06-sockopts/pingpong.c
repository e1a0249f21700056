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
 *   --nodelay    TCP_NODELAY: send each write at once
 *   --one-write  build the request in memory and write it once: the better
 *                cure, one segment instead of two, no option needed
 *   --rounds N   how many rounds (default 20)
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
    unsigned long long rounds = 20;
    int fd, i, nodelay = 0, one_write = 0;
    double start, secs;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    for (i = 1; i < argc && is_flag(argv[i]); i++) {
        if (strcmp(argv[i], "--nodelay") == 0) {
            nodelay = 1;
        } else if (strcmp(argv[i], "--one-write") == 0) {
            one_write = 1;
        } else if (strcmp(argv[i], "--rounds") == 0) {
            const char *v = flag_value(argc, argv, &i, usage);

            if (parse_bytes(v, 1000000, &rounds) == -1 || rounds == 0)
                usage_error(usage, "invalid count '%s' for --rounds: expected 1 to 1000000", v);
        } else {
            usage_error(usage, "unknown option '%s'", argv[i]);
        }
    }
    client_args(argc - i + 1, argv + i - 1, usage, &host, &port);
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
    printf("%llu rounds in %.3f s: %.3f ms per round\n", rounds, secs, secs * 1000 / (double)rounds);
    close(fd);
    return 0;
}

/*
 * Lesson 09 burst: COUNT write() calls of SIZE bytes each, back to back.
 *
 *     usage: burst [-n] HOST PORT COUNT SIZE
 *
 * Write 1 is all 'a', write 2 all 'b', and so on, so that the receiver
 * (lesson 09's reads) shows where one write's bytes end. Small writes in a
 * burst arrive as fewer reads: TCP keeps the bytes' order, not the
 * writes' boundaries. -n sets TCP_NODELAY (no Nagle: each write leaves at
 * once, in its own segment if it can), which changes how the bytes are
 * cut, and still promises nothing about the reads.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "[-n] HOST PORT COUNT SIZE";

static unsigned long number(const char *s, unsigned long max, const char *what)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < 1 || v > max)
        usage_error(usage, "invalid %s '%s' (1 to %lu)", what, s, max);
    return v;
}

int main(int argc, char *argv[])
{
    const char *host, *port;
    static char buf[1 << 20];
    unsigned long count, size, i;
    int nodelay = 0, fd;

    set_progname(argv[0]);
    if (argc > 1 && strcmp(argv[1], "-n") == 0) {
        nodelay = 1;
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    if (argc != 5)
        usage_error(usage, argc < 5 ? "missing arguments" : "too many arguments");
    count = number(argv[3], 100000, "count");
    size = number(argv[4], sizeof buf, "size");
    client_args(3, argv, usage, &host, &port);

    fd = tcp_connect(host, port);
    if (fd == -1)
        return 1;
    if (nodelay && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int)) == -1)
        die_errno("setsockopt TCP_NODELAY");
    for (i = 0; i < count; i++) {
        memset(buf, 'a' + (int)(i % 26), size);
        if (write_all(fd, buf, size, NULL) == -1)
            die_errno("write");
    }
    printf("%lu write%s of %lu bytes\n", count, count == 1 ? "" : "s", size);
    close(fd);
    return 0;
}

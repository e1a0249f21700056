/*
 * Lesson 10 uprobe: which Unix socket types keep message boundaries.
 *
 *     usage: uprobe [-t stream|seqpacket|dgram] PATH SIZE...
 *
 * Sends one write of each SIZE to the echo server at PATH (userver), waits
 * until every echo is in, then reads them, one read() at a time, and
 * prints what each read returned. A stream gives all the bytes to one
 * read; seqpacket and dgram give one message per read, as sent.
 *
 * A datagram client must have an address for the reply to come back to: it
 * binds a path of its own in /tmp, and removes it at the end.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "unix.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "[-t stream|seqpacket|dgram] PATH SIZE...";

#define MAX_SIZE 65536
#define MAX_SIZES 32

static char buf[MAX_SIZE * 2];

/* For a stream: until all total bytes are in, without taking them. */
static int wait_for_bytes(int fd, size_t total)
{
    for (int turn = 0; turn < 500; turn++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n = recv(fd, buf, sizeof buf, MSG_PEEK);

        if (n == -1)
            return -1;
        if ((size_t)n >= total || n == 0)
            return 0;
        poll(&p, 0, 10);            /* the rest is on its way: 10 ms */
    }
    return 0;
}

int main(int argc, char *argv[])
{
    char own[64] = "";
    size_t sizes[MAX_SIZES], total = 0;
    int opt, type = SOCK_STREAM, fd, count, status = 0;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    opterr = 0;
    while ((opt = getopt(argc, argv, "t:")) != -1) {
        if (opt == '?')
            usage_error(usage, "unknown option '-%c'", optopt);
        if ((type = unix_type(optarg)) == -1)
            usage_error(usage, "invalid type '%s': expected stream, seqpacket or dgram", optarg);
    }
    count = argc - optind - 1;
    if (count < 1 || count > MAX_SIZES)
        usage_error(usage, count < 1 ? "missing path or size" : "too many sizes");
    for (int i = 0; i < count; i++) {
        const char *s = argv[optind + 1 + i];
        char *end;
        unsigned long v = strtoul(s, &end, 10);

        if (*s < '0' || *s > '9' || *end != '\0' || v > MAX_SIZE)
            usage_error(usage, "invalid size '%s': expected 0 to %d", s, MAX_SIZE);
        sizes[i] = v;
        total += v;
    }

    if (type == SOCK_DGRAM) {
        struct sockaddr_un me;
        socklen_t len;

        snprintf(own, sizeof own, "/tmp/uprobe.%ld.sock", (long)getpid());
        fd = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (fd == -1 || unix_addr(own, &me, &len) == -1 ||
            bind(fd, (struct sockaddr *)&me, len) == -1)
            die_errno("bind %s", own);
        if (unix_connect_fd(fd, argv[optind]) == -1) {
            unlink(own);
            return 1;
        }
    } else {
        fd = unix_connect(argv[optind], type);
        if (fd == -1)
            return 1;
    }

    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < count; i++) {
        if (write_all(fd, buf, sizes[i], NULL) == -1 && sizes[i] > 0)
            die_errno("write %s", argv[optind]);
        /* write_all() of 0 bytes calls nothing: an empty message needs a call. */
        if (sizes[i] == 0 && type != SOCK_STREAM && send(fd, buf, 0, 0) == -1)
            die_errno("send %s", argv[optind]);
        printf("wrote %zu bytes\n", sizes[i]);
    }

    if (type == SOCK_STREAM) {
        shutdown(fd, SHUT_WR);          /* the server echoes, then reads EOF */
        wait_for_bytes(fd, total);
    }
    for (int got = 0; type == SOCK_STREAM || got < count; got++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, 2000) == 0) {
            printf("no reply within 2 s\n");
            status = 1;
            break;
        }
        n = read(fd, buf, sizeof buf);
        if (n == -1) {
            warn_errno("read %s", argv[optind]);
            status = 1;
            break;
        }
        if (n == 0 && type == SOCK_STREAM)
            break;                      /* end of file: all echoed */
        printf("read %zd bytes in one read()\n", n);
    }
    close(fd);
    if (own[0] != '\0')
        unlink(own);
    return status;
}

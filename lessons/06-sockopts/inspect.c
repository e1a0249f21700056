/*
 * Lesson 06 inspect: what the common socket options are set to, read with
 * getsockopt() on four sockets: a fresh TCP socket, a fresh UDP socket, a
 * listening TCP socket and a connected one (both on 127.0.0.1).
 *
 *     usage: inspect [--rcvbuf BYTES] [--sndbuf BYTES]
 *
 * With --rcvbuf or --sndbuf, each socket first gets setsockopt() with that
 * size, so the table shows what the kernel made of the request: Linux
 * stores twice the value (half of it is for its own bookkeeping), raises
 * it to a minimum and caps it at net.core.rmem_max / wmem_max.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE         /* SO_REUSEPORT is not in POSIX */

#include "socklab.h"
#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "[--rcvbuf BYTES] [--sndbuf BYTES]";

enum kind { KIND_INT, KIND_BOOL, KIND_LINGER, KIND_TIME, KIND_TYPE, KIND_ERRNO };

static const struct option {
    const char *name;
    int level, optname;
    enum kind kind;
    const char *unit;
} options[] = {
    {"SO_TYPE",       SOL_SOCKET,  SO_TYPE,       KIND_TYPE,   ""},
    {"SO_REUSEADDR",  SOL_SOCKET,  SO_REUSEADDR,  KIND_BOOL,   ""},
    {"SO_REUSEPORT",  SOL_SOCKET,  SO_REUSEPORT,  KIND_BOOL,   ""},
    {"SO_KEEPALIVE",  SOL_SOCKET,  SO_KEEPALIVE,  KIND_BOOL,   ""},
    {"TCP_KEEPIDLE",  IPPROTO_TCP, TCP_KEEPIDLE,  KIND_INT,    " s"},
    {"TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, KIND_INT,    " s"},
    {"TCP_KEEPCNT",   IPPROTO_TCP, TCP_KEEPCNT,   KIND_INT,    ""},
    {"SO_LINGER",     SOL_SOCKET,  SO_LINGER,     KIND_LINGER, ""},
    {"SO_RCVBUF",     SOL_SOCKET,  SO_RCVBUF,     KIND_INT,    ""},
    {"SO_SNDBUF",     SOL_SOCKET,  SO_SNDBUF,     KIND_INT,    ""},
    {"SO_RCVTIMEO",   SOL_SOCKET,  SO_RCVTIMEO,   KIND_TIME,   ""},
    {"SO_SNDTIMEO",   SOL_SOCKET,  SO_SNDTIMEO,   KIND_TIME,   ""},
    {"TCP_NODELAY",   IPPROTO_TCP, TCP_NODELAY,   KIND_BOOL,   ""},
    {"SO_BROADCAST",  SOL_SOCKET,  SO_BROADCAST,  KIND_BOOL,   ""},
    {"IP_TTL",        IPPROTO_IP,  IP_TTL,        KIND_INT,    ""},
    {"SO_ERROR",      SOL_SOCKET,  SO_ERROR,      KIND_ERRNO,  ""},
};

/* One cell of the table: the option's value on fd, as text. */
static void describe(int fd, const struct option *o, char *out, size_t size)
{
    union {
        int i;
        struct linger l;
        struct timeval tv;
    } v;
    socklen_t len = sizeof v;
    const char *name;

    memset(&v, 0, sizeof v);
    if (getsockopt(fd, o->level, o->optname, &v, &len) == -1) {
        /* TCP options on a UDP socket: EOPNOTSUPP, nothing to show. */
        snprintf(out, size, "-");
        return;
    }
    switch (o->kind) {
    case KIND_INT:
        snprintf(out, size, "%d%s", v.i, o->unit);
        break;
    case KIND_BOOL:
        snprintf(out, size, "%s", v.i ? "on" : "off");
        break;
    case KIND_LINGER:
        if (v.l.l_onoff)
            snprintf(out, size, "on, %d s", v.l.l_linger);
        else
            snprintf(out, size, "off");
        break;
    case KIND_TIME:
        if (v.tv.tv_sec == 0 && v.tv.tv_usec == 0)
            snprintf(out, size, "0 (never)");
        else
            snprintf(out, size, "%ld.%06ld s", (long)v.tv.tv_sec, (long)v.tv.tv_usec);
        break;
    case KIND_TYPE:
        snprintf(out, size, "%s", v.i == SOCK_STREAM ? "STREAM"
                                  : v.i == SOCK_DGRAM ? "DGRAM" : "other");
        break;
    case KIND_ERRNO:
        name = errno_name(v.i);
        snprintf(out, size, "%s", v.i == 0 ? "0" : name ? name : "?");
        break;
    }
}

int main(int argc, char *argv[])
{
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof addr;
    int rcvbuf = -1, sndbuf = -1, i, status = 1;
    int fd[4] = {-1, -1, -1, -1};
    static const char *const column[4] = {"TCP", "UDP", "listening", "connected"};

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    for (i = 1; i < argc; i++) {
        const char *f = argv[i];

        if (strcmp(f, "--rcvbuf") == 0)
            rcvbuf = bytes_flag(f, flag_value(argc, argv, &i, usage), usage);
        else if (strcmp(f, "--sndbuf") == 0)
            sndbuf = bytes_flag(f, flag_value(argc, argv, &i, usage), usage);
        else if (is_flag(f))
            usage_error(usage, "unknown option '%s'", f);
        else
            usage_error(usage, "unexpected argument '%s'", f);
    }

    fd[0] = socket(AF_INET, SOCK_STREAM, 0);
    fd[1] = socket(AF_INET, SOCK_DGRAM, 0);
    fd[2] = socket(AF_INET, SOCK_STREAM, 0);
    fd[3] = socket(AF_INET, SOCK_STREAM, 0);
    for (i = 0; i < 4; i++) {
        if (fd[i] == -1) {
            warn_errno("socket");
            goto out;
        }
        if (set_buffers(fd[i], rcvbuf, sndbuf) == -1)
            goto out;
    }

    /* A listener on a port the kernel picks, and a connection to it. */
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd[2], (struct sockaddr *)&addr, sizeof addr) == -1 ||
        listen(fd[2], 1) == -1 ||
        getsockname(fd[2], (struct sockaddr *)&addr, &addr_len) == -1) {
        warn_errno("listen 127.0.0.1:0");
        goto out;
    }
    if (connect(fd[3], (struct sockaddr *)&addr, addr_len) == -1) {
        warn_errno("connect 127.0.0.1:%u", (unsigned)ntohs(addr.sin_port));
        goto out;
    }

    if (rcvbuf >= 0)
        printf("asked for SO_RCVBUF %d on each socket\n", rcvbuf);
    if (sndbuf >= 0)
        printf("asked for SO_SNDBUF %d on each socket\n", sndbuf);
    printf("%-14s", "option");
    for (i = 0; i < 4; i++)
        printf(i < 3 ? " %-12s" : " %s", column[i]);
    printf("\n");
    for (size_t o = 0; o < sizeof options / sizeof options[0]; o++) {
        printf("%-14s", options[o].name);
        for (i = 0; i < 4; i++) {
            char cell[32];

            describe(fd[i], &options[o], cell, sizeof cell);
            /* No padding after the last column: no trailing blanks. */
            printf(i < 3 ? " %-12s" : " %s", cell);
        }
        printf("\n");
    }
    status = 0;
out:
    for (i = 0; i < 4; i++)
        if (fd[i] != -1)
            close(fd[i]);
    return status;
}

/*
 * Lesson 06 inspect: what the common socket options are set to, read with
 * getsockopt() on four sockets: a fresh TCP socket, a fresh UDP socket, a
 * listening TCP socket and a connected one (both on 127.0.0.1).
 *
 *     usage: inspect [--rcvbuf BYTES] [--sndbuf BYTES]     (or -I, -O)
 *
 * With --rcvbuf or --sndbuf, each socket first gets setsockopt() with that
 * size, so the table shows what the kernel made of the request: Linux
 * stores twice the value (half of it is for its own bookkeeping), raises
 * it to a minimum and caps it at net.core.rmem_max / wmem_max.
 *
 * SO_REUSEPORT, IP_TTL and the TCP_KEEP* timers are not POSIX: each one's
 * row is compiled only where the system defines it, and reads "not on this
 * system" elsewhere.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE         /* glibc shows SO_REUSEPORT only with this */

#include "socklab.h"
#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "[--rcvbuf BYTES] [--sndbuf BYTES]";

static const char optstring[] = ":I:O:h";
static const struct long_flag long_flags[] = {
    {"--rcvbuf", "-I"}, {"--sndbuf", "-O"}, {"--help", "-h"}, {NULL, NULL},
};

/* KIND_MISSING: an option this system's headers do not define. */
enum kind { KIND_MISSING, KIND_INT, KIND_BOOL, KIND_LINGER, KIND_TIME, KIND_TYPE, KIND_ERRNO };

static const struct option {
    const char *name;
    int level, optname;
    enum kind kind;
    const char *unit;
} options[] = {
    {"SO_TYPE",       SOL_SOCKET,  SO_TYPE,       KIND_TYPE,   ""},
    {"SO_REUSEADDR",  SOL_SOCKET,  SO_REUSEADDR,  KIND_BOOL,   ""},
#ifdef SO_REUSEPORT
    {"SO_REUSEPORT",  SOL_SOCKET,  SO_REUSEPORT,  KIND_BOOL,   ""},
#else
    {"SO_REUSEPORT",  0,           0,             KIND_MISSING, ""},
#endif
    {"SO_KEEPALIVE",  SOL_SOCKET,  SO_KEEPALIVE,  KIND_BOOL,   ""},
#ifdef TCP_KEEPIDLE
    {"TCP_KEEPIDLE",  IPPROTO_TCP, TCP_KEEPIDLE,  KIND_INT,    " s"},
#else
    {"TCP_KEEPIDLE",  0,           0,             KIND_MISSING, ""},
#endif
#ifdef TCP_KEEPINTVL
    {"TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, KIND_INT,    " s"},
#else
    {"TCP_KEEPINTVL", 0,           0,             KIND_MISSING, ""},
#endif
#ifdef TCP_KEEPCNT
    {"TCP_KEEPCNT",   IPPROTO_TCP, TCP_KEEPCNT,   KIND_INT,    ""},
#else
    {"TCP_KEEPCNT",   0,           0,             KIND_MISSING, ""},
#endif
    {"SO_LINGER",     SOL_SOCKET,  SO_LINGER,     KIND_LINGER, ""},
    {"SO_RCVBUF",     SOL_SOCKET,  SO_RCVBUF,     KIND_INT,    ""},
    {"SO_SNDBUF",     SOL_SOCKET,  SO_SNDBUF,     KIND_INT,    ""},
    {"SO_RCVTIMEO",   SOL_SOCKET,  SO_RCVTIMEO,   KIND_TIME,   ""},
    {"SO_SNDTIMEO",   SOL_SOCKET,  SO_SNDTIMEO,   KIND_TIME,   ""},
    {"TCP_NODELAY",   IPPROTO_TCP, TCP_NODELAY,   KIND_BOOL,   ""},
    {"SO_BROADCAST",  SOL_SOCKET,  SO_BROADCAST,  KIND_BOOL,   ""},
#ifdef IP_TTL
    {"IP_TTL",        IPPROTO_IP,  IP_TTL,        KIND_INT,    ""},
#else
    {"IP_TTL",        0,           0,             KIND_MISSING, ""},
#endif
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
    case KIND_MISSING:
        break;                  /* main() prints no cells for it */
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
    struct cmdline cl;
    int rcvbuf = -1, sndbuf = -1, i, c, status = 1;
    int fd[4] = {-1, -1, -1, -1};
    static const char *const column[4] = {"TCP", "UDP", "listening", "connected"};

    set_progname(argv[0]);
    split_args(argc, argv, optstring, long_flags, usage, &cl);
    while ((c = getopt(cl.flagc, cl.flagv, optstring)) != -1) {
        switch (c) {
        case 'I': rcvbuf = bytes_flag("--rcvbuf", optarg, usage); break;
        case 'O': sndbuf = bytes_flag("--sndbuf", optarg, usage); break;
        case 'h': print_usage(usage); return 0;
        default: flag_error(c, long_flags, usage);
        }
    }
    if (cl.argc > 1)
        usage_error(usage, "unexpected argument '%s'", cl.argv[1]);

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
        if (options[o].kind == KIND_MISSING) {
            printf(" (not on this system)\n");
            continue;
        }
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

/*
 * options.h - the command lines and setsockopt calls lesson 06's programs
 * share. Header-only (static inline) because every .c file in a lesson
 * directory is a program of its own.
 *
 * Flags are read with getopt(), which is POSIX. Two things getopt() does
 * not do the same everywhere, so they happen here, before it runs:
 *   - long spellings: getopt_long() is a GNU and BSD extension, not POSIX.
 *     Each program has a small table, "--linger0" is "-l", and the long
 *     names are rewritten to their letters.
 *   - flags after the operands: glibc's getopt() reorders argv to find
 *     them (unless POSIXLY_CORRECT is set), musl's and the BSDs' stop at
 *     the first operand. Splitting the command line into flags and
 *     operands first makes "server 9000 --linger0" work on every libc.
 * A value is checked strictly, like a port: "--timeout 2s" or "--rcvbuf -1"
 * exit 2 with a message naming the flag, never a silent zero from atoi().
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include "socklab.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* A long spelling and the getopt() letter it stands for: {"--linger0", "-l"}. */
struct long_flag {
    const char *name, *letter;
};

/* More words than any of these programs can use is a usage error. */
#define CMDLINE_MAX 32

/* The command line split in two, each part shaped like main's argv. */
struct cmdline {
    int flagc;
    char *flagv[CMDLINE_MAX + 1];   /* argv[0], then the flags and their values */
    int argc;
    char *argv[CMDLINE_MAX + 1];    /* argv[0], then the operands */
};

/* True if the getopt() letter c takes a value ("t:" in the optstring). */
static inline int takes_value(const char *optstring, char c)
{
    const char *p = c != ':' ? strchr(optstring, c) : NULL;

    return p != NULL && p[1] == ':';
}

/*
 * Sorts argv into flags and operands, keeping their order, with each long
 * name replaced by its letter. "--" ends the flags; "-1" is an operand, so
 * that a negative port is reported as an invalid port. Exits 2 for a long
 * name not in the table.
 */
static inline void split_args(int argc, char *argv[], const char *optstring,
                              const struct long_flag *longs, const char *usage,
                              struct cmdline *cl)
{
    int i, only_operands = 0;

    if (argc > CMDLINE_MAX)
        usage_error(usage, "too many arguments");
    cl->flagc = cl->argc = 1;
    cl->flagv[0] = cl->argv[0] = argv[0];
    for (i = 1; i < argc; i++) {
        char *a = argv[i];
        int value_follows = 0;

        if (only_operands || a[0] != '-' || a[1] == '\0' || (a[1] >= '0' && a[1] <= '9')) {
            cl->argv[cl->argc++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_operands = 1;
            continue;
        }
        if (a[1] == '-') {
            const struct long_flag *f = longs;

            while (f->name != NULL && strcmp(f->name, a) != 0)
                f++;
            if (f->name == NULL)
                usage_error(usage, "unknown option '%s'", a);
            a = (char *)f->letter;      /* getopt() never writes to argv */
            value_follows = takes_value(optstring, a[1]);
        } else {
            /* "-lt 2": the first letter that takes a value ends the group. */
            for (const char *p = a + 1; *p != '\0'; p++)
                if (takes_value(optstring, *p)) {
                    value_follows = p[1] == '\0';
                    break;
                }
        }
        cl->flagv[cl->flagc++] = a;
        if (value_follows && i + 1 < argc)
            cl->flagv[cl->flagc++] = argv[++i];
    }
    cl->flagv[cl->flagc] = cl->argv[cl->argc] = NULL;
}

/* The name to show for letter c: its long spelling if it has one. */
static inline const char *flag_name(const struct long_flag *longs, int c)
{
    static char letter[3] = "-?";

    for (; longs->name != NULL; longs++)
        if (longs->letter[1] == c)
            return longs->name;
    letter[1] = (char)c;
    return letter;
}

/* getopt() returned ':' (value missing) or '?' (unknown letter): exit 2. */
static inline _Noreturn void flag_error(int c, const struct long_flag *longs, const char *usage)
{
    if (c == ':')
        usage_error(usage, "%s needs a value", flag_name(longs, optopt));
    usage_error(usage, "unknown option '-%c'", optopt);
}

/*
 * A byte count: digits, then optionally K (KiB) or M (MiB); at most max.
 * Returns 0 and stores it, or -1 for anything else ("", "1.5M", "-3").
 */
static inline int parse_bytes(const char *s, unsigned long long max,
                              unsigned long long *bytes)
{
    unsigned long long value = 0, unit = 1;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (value > (ULLONG_MAX - 9) / 10)
            return -1;
        value = value * 10 + (unsigned long long)(*p - '0');
    }
    if (*p == 'K')
        unit = 1024, p++;
    else if (*p == 'M')
        unit = 1024 * 1024, p++;
    if (*p != '\0' || value > max / unit)
        return -1;
    *bytes = value * unit;
    return 0;
}

/* A count from 1 to max, digits only: "20", not "2K" or "+20". */
static inline unsigned long count_flag(const char *flag, const char *s, unsigned long max,
                                       const char *usage)
{
    unsigned long n = 0;
    const char *p = s;

    for (; *p >= '0' && *p <= '9' && n <= max; p++)
        n = n * 10 + (unsigned long)(*p - '0');     /* max is far from overflow */
    if (p == s || *p != '\0' || n == 0 || n > max)
        usage_error(usage, "invalid count '%s' for %s: expected 1 to %lu", s, flag, max);
    return n;
}

/* A buffer size for SO_RCVBUF/SO_SNDBUF, which take an int. */
static inline int bytes_flag(const char *flag, const char *s, const char *usage)
{
    unsigned long long bytes;

    if (parse_bytes(s, INT_MAX, &bytes) == -1)
        usage_error(usage, "invalid size '%s' for %s: expected bytes, e.g. 65536 or 64K", s, flag);
    return (int)bytes;
}

/*
 * Seconds with up to three decimals, more than 0 and at most a day:
 * "2", "0.5", "1.25". Returns 0 and the value in milliseconds, or -1.
 */
static inline int parse_seconds(const char *s, long *ms)
{
    long whole = 0, frac = 0, scale = 100;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (*p - '0');
        if (whole > 86400)
            return -1;
    }
    if (*p == '.') {
        if (p[1] < '0' || p[1] > '9')
            return -1;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) {
            if (scale == 0)
                return -1;      /* finer than a millisecond */
            frac += (*p - '0') * scale;
        }
    }
    if (*p != '\0' || whole * 1000 + frac == 0 || whole * 1000 + frac > 86400000L)
        return -1;
    *ms = whole * 1000 + frac;
    return 0;
}

static inline long seconds_flag(const char *flag, const char *s, const char *usage)
{
    long ms;

    if (parse_seconds(s, &ms) == -1)
        usage_error(usage, "invalid time '%s' for %s: expected seconds, e.g. 2 or 0.5", s, flag);
    return ms;
}

/* "2" for 2000 ms, "0.25" for 250 ms. */
static inline char *seconds_text(long ms, char buf[32])
{
    int len = snprintf(buf, 32, "%ld.%03ld", ms / 1000, ms % 1000);

    while (len > 0 && buf[len - 1] == '0')
        buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '.')
        buf[--len] = '\0';
    return buf;
}

/* setsockopt for the many options that take an int; 0 or -1, and a message. */
static inline int set_int_option(int fd, int level, int name, const char *label, int value)
{
    if (setsockopt(fd, level, name, &value, sizeof value) == -1) {
        warn_errno("setsockopt %s %d", label, value);
        return -1;
    }
    return 0;
}

/*
 * SO_RCVTIMEO and SO_SNDTIMEO take a struct timeval. (Windows takes a DWORD
 * of milliseconds; an int given here fails with EINVAL on Linux.)
 */
static inline int set_timeout_option(int fd, int name, const char *label, long ms)
{
    struct timeval tv;

    memset(&tv, 0, sizeof tv);
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
    if (setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv) == -1) {
        warn_errno("setsockopt %s %ld ms", label, ms);
        return -1;
    }
    return 0;
}

/*
 * write_all() for a socket with SO_SNDTIMEO (timed nonzero). A write that
 * waits the whole timeout returns -1 with EAGAIN if it sent nothing, or a
 * short count if it sent part (POSIX allows both, Linux does both): either
 * way the peer has not read for that long, and both come back as -1 with
 * EAGAIN. Once *stop is set (a stop signal, which also cuts a write
 * short): -1 with EINTR. stop may be NULL.
 */
static inline int write_timed(int fd, const char *buf, size_t len, int timed,
                              const atomic_int *stop)
{
    while (len > 0) {
        ssize_t n;

        if (stop != NULL && *stop) {
            errno = EINTR;
            return -1;
        }
        n = write(fd, buf, len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        if ((size_t)n < len && timed && !(stop != NULL && *stop)) {
            errno = EAGAIN;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Buffer sizes are asked for before connect() or listen(): see the chapter. */
static inline int set_buffers(int fd, int rcvbuf, int sndbuf)
{
    if (rcvbuf >= 0 && set_int_option(fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", rcvbuf) == -1)
        return -1;
    if (sndbuf >= 0 && set_int_option(fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", sndbuf) == -1)
        return -1;
    return 0;
}

/* One address: socket, setup(fd), then bind and listen, or connect. */
static inline int open_one(const struct addrinfo *ai, int listening, int (*setup)(int fd),
                           const char **call)
{
    int fd, saved;

    *call = "socket";
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd == -1)
        return -1;
    *call = NULL;               /* setup() says itself which option failed */
    if (setup(fd) == -1)
        goto fail;
    if (listening) {
        *call = "bind";
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
            goto fail;
        *call = "listen";
        if (listen(fd, SOMAXCONN) == -1)
            goto fail;
    } else {
        *call = "connect";
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
            goto fail;
    }
    return fd;
fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/*
 * tcp_listen() or tcp_connect() from common/net.c with one hook: setup(fd)
 * runs on each new socket before bind() or connect(). That is where the
 * options go that must be set first (SO_REUSEADDR, the buffer sizes); a
 * listening socket passes them on to the connections it accepts. The
 * address of the socket that worked goes into addr (for a client, the
 * server's: getpeername() fails once the server has reset the connection).
 * Returns the socket, or -1 after saying why each address failed.
 */
static inline int tcp_open(const char *host, const char *port, int listening,
                           int (*setup)(int fd), char addr[ADDR_STRLEN])
{
    struct addrinfo hints, *list;
    int fd = -1, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (listening ? AI_PASSIVE : 0);
    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        warn_msg("getaddrinfo %s: %s", host, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (const struct addrinfo *ai = list; ai != NULL && fd == -1; ai = ai->ai_next) {
        const char *call;

        format_addr(ai->ai_addr, ai->ai_addrlen, addr);
        fd = open_one(ai, listening, setup, &call);
        if (fd == -1 && call != NULL)
            warn_errno("%s %s", call, addr);
    }
    freeaddrinfo(list);
    return fd;
}

#endif

/*
 * options.h - the command-line flags and setsockopt calls lesson 06's
 * programs share. Header-only (static inline) because every .c file in a
 * lesson directory is a program of its own.
 *
 * Flags come before the usual arguments: server --linger0 9000. A flag's
 * value is checked strictly, like a port: "--timeout 2x" or "--rcvbuf -1"
 * exit 2 with a message naming the value, never a silent zero from atoi().
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include "socklab.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

/*
 * True for "--name" and "-x": a flag. "-1" is not one, so that a negative
 * port reaches the port check and is reported as an invalid port.
 */
static inline int is_flag(const char *arg)
{
    return arg[0] == '-' && (arg[1] < '0' || arg[1] > '9') && arg[1] != '\0';
}

/* The value after a flag ("--rcvbuf 4096"), or a usage error. */
static inline const char *flag_value(int argc, char *argv[], int *i, const char *usage)
{
    if (*i + 1 >= argc)
        usage_error(usage, "%s needs a value", argv[*i]);
    return argv[++*i];
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

/* Buffer sizes are asked for before connect() or listen(): see the chapter. */
static inline int set_buffers(int fd, int rcvbuf, int sndbuf)
{
    if (rcvbuf >= 0 && set_int_option(fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", rcvbuf) == -1)
        return -1;
    if (sndbuf >= 0 && set_int_option(fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", sndbuf) == -1)
        return -1;
    return 0;
}

#endif

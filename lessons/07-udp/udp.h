/*
 * udp.h - what lesson 07's programs share: finding the address and opening
 * a datagram socket, strict numbers for flags, a clock and a seeded random
 * number generator. Header-only (static inline) because every .c file in a
 * lesson directory is a program of its own.
 *
 * udp_open() is tcp_listen() and tcp_connect() of common/net.c for
 * datagrams. A client has no handshake to try an address with: it takes
 * the first one getaddrinfo() gives ("localhost" may mean ::1 before
 * 127.0.0.1), and sendto() later tells whether it works.
 */
#ifndef UDP_H
#define UDP_H

#include "socklab.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * No UDP payload over IP is larger: 65,535 bytes of IP packet less the
 * headers is 65,507 over IPv4 and 65,527 over IPv6. A buffer one byte
 * larger than the largest message is how any system tells a datagram
 * that did not fit.
 */
#define MAX_DATAGRAM 65535

/*
 * Resolves host and port as a datagram service and opens a socket for the
 * first address that works: bound to it when passive (a server), left
 * unbound otherwise (a client: the first sendto() binds an ephemeral port).
 * The address goes to *addr. Returns the socket, or -1 after saying why.
 */
static inline int udp_open(const char *host, const char *port, int passive,
                           struct sockaddr_storage *addr, socklen_t *addr_len)
{
    struct addrinfo hints, *list;
    char text[ADDR_STRLEN];
    int rc, fd = -1, err = 0;
    const char *call = "socket";

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        fprintf(stderr, "%s: getaddrinfo %s: %s\n", progname(), host,
                rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = list; ai != NULL && fd == -1; ai = ai->ai_next) {
        call = "socket";
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd != -1 && passive && bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
            call = "bind";
            err = errno;
            close(fd);
            fd = -1;
            errno = err;
        }
        if (fd == -1) {
            /* Said only if no address works, as tcp_listen() does. */
            err = errno;
            format_addr(ai->ai_addr, ai->ai_addrlen, text);
            continue;
        }
        memcpy(addr, ai->ai_addr, ai->ai_addrlen);
        *addr_len = ai->ai_addrlen;
    }
    if (fd == -1)
        warn_err(err, "%s %s", call, text);
    freeaddrinfo(list);
    return fd;
}

/* Same family, address and port: the only test of who sent a datagram. */
static inline int same_addr(const struct sockaddr_storage *a, socklen_t alen,
                            const struct sockaddr_storage *b, socklen_t blen)
{
    if (alen != blen || a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

        return x->sin_port == y->sin_port &&
               x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return memcmp(a, b, alen) == 0;
}

/* True for "--name": a flag. "-1" is not one, so a bad port is reported as such. */
static inline int is_flag(const char *arg)
{
    return arg[0] == '-' && (arg[1] < '0' || arg[1] > '9') && arg[1] != '\0';
}

static inline const char *flag_value(int argc, char *argv[], int *i, const char *usage)
{
    if (*i + 1 >= argc)
        usage_error(usage, "%s needs a value", argv[*i]);
    return argv[++*i];
}

/* A whole number from lo to hi, digits only, or a usage error naming it. */
static inline unsigned long count_flag(const char *flag, const char *s,
                                       unsigned long lo, unsigned long hi,
                                       const char *usage)
{
    unsigned long v = 0;
    const char *p = s;

    for (; *p >= '0' && *p <= '9' && v <= hi; p++)
        v = v * 10 + (unsigned long)(*p - '0');
    if (*s == '\0' || *p != '\0' || v < lo || v > hi)
        usage_error(usage, "invalid value '%s' for %s: expected %lu to %lu", s, flag, lo, hi);
    return v;
}

/* Seconds with up to three decimals ("2", "0.25"), more than 0, at most 60. */
static inline long seconds_flag(const char *flag, const char *s, const char *usage)
{
    long whole = 0, frac = 0, scale = 100;
    const char *p = s;

    for (; *p >= '0' && *p <= '9' && whole <= 60; p++)
        whole = whole * 10 + (*p - '0');
    if (p != s && *p == '.' && p[1] >= '0' && p[1] <= '9')
        for (p++; *p >= '0' && *p <= '9' && scale > 0; p++, scale /= 10)
            frac += (*p - '0') * scale;
    if (p == s || *p != '\0' || whole * 1000 + frac == 0 || whole * 1000 + frac > 60000)
        usage_error(usage, "invalid time '%s' for %s: expected seconds, e.g. 2 or 0.25", s, flag);
    return whole * 1000 + frac;
}

/* Milliseconds on a clock that never jumps (unlike the time of day). */
static inline long long now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * A seed such as 7 has few bits set, and xorshift's first numbers from it
 * would be small and alike: the seed is scrambled first (the finalizer of
 * the MurmurHash3 hash function), so that seeds 1, 2, 3 start far apart.
 */
static inline uint32_t mix_seed(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x != 0 ? x : 1;
}

/*
 * xorshift32: a tiny generator whose whole state is one number, so that a
 * seed replays the same sequence on every machine (rand() differs between
 * C libraries). Not for anything an attacker may want to guess.
 */
static inline uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state ? *state : 2463534242u;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

#endif

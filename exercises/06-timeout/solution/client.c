/*
 * Exercise 06-timeout, a solution: lesson 02's echo client with a time
 * limit on connecting and one on each wait for a reply.
 *
 *     usage: client [-c SECONDS] [-r SECONDS] HOST PORT
 *
 *   -c SECONDS   connect() on a non-blocking socket, poll() until the
 *                handshake ends or the time is up, then SO_ERROR tells
 *                whether it worked
 *   -r SECONDS   SO_RCVTIMEO: a read() from the server that has waited
 *                that long fails with EAGAIN
 *
 * Without -c, connect() waits as long as the kernel retries (about two
 * minutes on Linux); without -r, a reply is waited for forever.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "[-c SECONDS] [-r SECONDS] HOST PORT";

/* A time limit in milliseconds (0: none), and as the command line wrote it. */
struct limit {
    long ms;
    const char *text;
};

/*
 * Seconds with up to three decimals, more than 0 and at most a day: "2",
 * "0.5", "1.25". The value in milliseconds, or a usage error naming it:
 * strtod() would take "1e3", " 2" and "inf", and atof() "2s" as 2.
 */
static long parse_seconds(const char *flag, const char *s)
{
    long whole = 0, frac = 0, scale = 100;
    const char *p = s;

    if (*p < '0' || *p > '9')
        goto bad;
    for (; *p >= '0' && *p <= '9'; p++)
        if ((whole = whole * 10 + (*p - '0')) > 86400)
            goto bad;               /* and no overflow, however many digits */
    if (*p == '.') {
        if (p[1] < '0' || p[1] > '9')
            goto bad;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) {
            if (scale == 0)
                goto bad;           /* finer than a millisecond */
            frac += (*p - '0') * scale;
        }
    }
    if (*p != '\0' || whole * 1000 + frac == 0 || whole * 1000 + frac > 86400000L)
        goto bad;
    return whole * 1000 + frac;
bad:
    usage_error(usage, "invalid time '%s' for %s: expected seconds, e.g. 2 or 0.5", s, flag);
}

/* -c and -r, in any order, before HOST PORT: returns the index of HOST. */
static int parse_flags(int argc, char *argv[], struct limit *conn, struct limit *reply)
{
    int i;

    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        struct limit *l;

        if (strcmp(argv[i], "-c") == 0)
            l = conn;
        else if (strcmp(argv[i], "-r") == 0)
            l = reply;
        else
            usage_error(usage, "unknown option '%s'", argv[i]);
        if (i + 1 == argc)
            usage_error(usage, "%s needs a value", argv[i]);
        l->ms = parse_seconds(argv[i], argv[i + 1]);
        l->text = argv[++i];
    }
    return i;
}

/* Milliseconds from now until deadline, rounded up; 0 once it has passed. */
static int ms_until(const struct timespec *deadline)
{
    struct timespec now;
    long long ns;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ns = (long long)(deadline->tv_sec - now.tv_sec) * 1000000000LL +
         (deadline->tv_nsec - now.tv_nsec);
    return ns <= 0 ? 0 : (int)((ns + 999999) / 1000000);
}

/*
 * connect() that gives up after ms milliseconds (0: waits as long as the
 * kernel does): 0 when connected, 1 when the time ran out, -1 on failure
 * with errno set. (The kernel's own ETIMEDOUT, after its last SYN, is a
 * failure: it is not our time limit.)
 */
static int connect_within(int fd, const struct sockaddr *sa, socklen_t len, long ms)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    struct timespec deadline;
    int flags = 0, err, rc;
    socklen_t errlen = sizeof err;

    if (ms > 0) {
        flags = fcntl(fd, F_GETFL);
        if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += ms / 1000;
        deadline.tv_nsec += ms % 1000 * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
    }
    if (connect(fd, sa, len) == -1) {
        /*
         * EINPROGRESS: the non-blocking connect() has started. EINTR: a
         * signal cut connect() short, but not the handshake, which the
         * kernel carries on (a second connect() would fail with EALREADY).
         * Anything else failed at once: no route, ...
         */
        if (errno != EINPROGRESS && errno != EINTR)
            return -1;
        /* The socket turns writable when the handshake is over, either
         * way. A signal must not restart the clock. */
        while ((rc = poll(&p, 1, ms > 0 ? ms_until(&deadline) : -1)) == -1 &&
               errno == EINTR)
            ;
        if (rc == -1)
            return -1;
        if (rc == 0)
            return 1;
        /* How it ended: SO_ERROR holds connect()'s error, or 0. */
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1)
            return -1;
        if (err != 0) {
            errno = err;            /* ECONNREFUSED, ETIMEDOUT, ... */
            return -1;
        }
    }
    /* Blocking again: the rest of the client waits in read() and write(). */
    return ms > 0 ? fcntl(fd, F_SETFL, flags) : 0;
}

/*
 * Each address of host:port in turn (localhost is ::1 and 127.0.0.1), each
 * with the whole time limit, until one connects. Each failure is reported
 * as it happens. The socket, or -1.
 */
static int connect_to(const char *host, const char *port, const struct limit *limit)
{
    struct addrinfo hints, *list;
    int fd = -1, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        warn_msg("getaddrinfo %s: %s", host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        char addr[ADDR_STRLEN];

        format_addr(ai->ai_addr, ai->ai_addrlen, addr);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            warn_errno("socket %s", addr);
            continue;
        }
        rc = connect_within(fd, ai->ai_addr, ai->ai_addrlen, limit->ms);
        if (rc == 0)
            break;
        if (rc == 1)
            warn_msg("connect %s: timed out after %s s", addr, limit->text);
        else
            warn_errno("connect %s", addr);
        close(fd);
        fd = -1;
    }
    freeaddrinfo(list);
    return fd;
}

/* SO_RCVTIMEO takes a struct timeval (an int of milliseconds is EINVAL). */
static int set_receive_timeout(int fd, long ms)
{
    struct timeval tv;

    memset(&tv, 0, sizeof tv);
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1) {
        warn_errno("setsockopt SO_RCVTIMEO %ld ms", ms);
        return -1;
    }
    return 0;
}

int main(int argc, char *argv[])
{
    struct limit conn = {0, NULL}, reply = {0, NULL};
    const char *host, *port;
    char server[ADDR_STRLEN];
    char buf[4096];
    int fd, first, status = 1;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    first = parse_flags(argc, argv, &conn, &reply);
    /* client_args() sees argv[first - 1] as the program name: HOST PORT follow. */
    client_args(argc - first + 1, argv + first - 1, usage, &host, &port);
    /* A server that has gone away is then an EPIPE error, not sudden death. */
    signal(SIGPIPE, SIG_IGN);

    fd = connect_to(host, port, &conn);
    if (fd == -1)
        return 1;
    peer_addr(fd, server);
    if (reply.ms > 0 && set_receive_timeout(fd, reply.ms) == -1)
        goto out;

    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        ssize_t got;

        if (n == 0) {
            status = 0;             /* end of input: all echoed, done */
            break;
        }
        if (n == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("read standard input");
            break;
        }
        if (write_all(fd, buf, (size_t)n, NULL) == -1) {
            warn_errno("write %s", server);
            break;
        }
        /*
         * The echo may arrive in pieces: wait for all n bytes of it. The
         * time limit applies to each read() inside read_full(): it measures
         * the server's silence, not the whole reply.
         */
        got = read_full(fd, buf, (size_t)n, NULL);
        if (got == -1 && reply.ms > 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            warn_msg("read %s: timed out after %s s", server, reply.text);
            break;
        }
        if (got == -1) {
            warn_errno("read %s", server);
            break;
        }
        if (got < n) {
            warn_msg("%s closed the connection", server);
            break;
        }
        if (write_all(STDOUT_FILENO, buf, (size_t)got, NULL) == -1) {
            warn_errno("write standard output");
            break;
        }
    }
out:
    /* Closing tells the server we are finished: it reads end of file. */
    close(fd);
    return status;
}

/*
 * Lesson 06 server: an iterative line echo server whose socket options are
 * flags, so that each option's effect can be seen by turning it on or off.
 *
 *     usage: server [--no-reuseaddr] [--linger0] [--idle-timeout SEC]
 *                   [--send BYTES] [--silent] [--rcvbuf BYTES] [--sndbuf BYTES]
 *                   PORT [ADDRESS]
 *
 * By default it answers each line a client sends with the same line, once the
 * whole line has arrived (lesson 02 echoed whatever bytes came; waiting for
 * the newline is what a request/response protocol does, and what makes the
 * Nagle stall of pingpong.c visible).
 *
 *   --no-reuseaddr     bind without SO_REUSEADDR (restart fails in TIME_WAIT)
 *   --linger0          close each connection with SO_LINGER {1, 0}: an RST
 *   --idle-timeout SEC SO_RCVTIMEO: drop a client silent for SEC seconds
 *   --send BYTES       send each client BYTES bytes, then close; read nothing
 *   --silent           read what clients send but never answer
 *   --rcvbuf, --sndbuf SO_RCVBUF, SO_SNDBUF on the listening socket; the
 *                      connections it accepts inherit them
 *
 * The socket/bind/listen sequence is spelled out here instead of calling
 * tcp_listen(), because tcp_listen() always sets SO_REUSEADDR.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "options.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "[--no-reuseaddr] [--linger0] [--idle-timeout SEC] [--send BYTES] [--silent]\n"
    "              [--rcvbuf BYTES] [--sndbuf BYTES] PORT [ADDRESS]";

static struct {
    int reuseaddr;              /* SO_REUSEADDR before bind: on by default */
    int linger0;
    long idle_ms;               /* 0: wait for a client forever */
    int sending;
    unsigned long long send_bytes;
    int silent;
    int rcvbuf, sndbuf;         /* -1: leave the kernel's choice */
} opt = {.reuseaddr = 1, .rcvbuf = -1, .sndbuf = -1};

/* The flags before PORT; returns the index of PORT. */
static int parse_flags(int argc, char *argv[])
{
    int i;

    for (i = 1; i < argc && is_flag(argv[i]); i++) {
        const char *f = argv[i];

        if (strcmp(f, "--no-reuseaddr") == 0) {
            opt.reuseaddr = 0;
        } else if (strcmp(f, "--linger0") == 0) {
            opt.linger0 = 1;
        } else if (strcmp(f, "--idle-timeout") == 0) {
            opt.idle_ms = seconds_flag(f, flag_value(argc, argv, &i, usage), usage);
        } else if (strcmp(f, "--send") == 0) {
            const char *v = flag_value(argc, argv, &i, usage);

            if (parse_bytes(v, ULLONG_MAX, &opt.send_bytes) == -1)
                usage_error(usage, "invalid size '%s' for --send: expected bytes, e.g. 4M", v);
            opt.sending = 1;
        } else if (strcmp(f, "--silent") == 0) {
            opt.silent = 1;
        } else if (strcmp(f, "--rcvbuf") == 0) {
            opt.rcvbuf = bytes_flag(f, flag_value(argc, argv, &i, usage), usage);
        } else if (strcmp(f, "--sndbuf") == 0) {
            opt.sndbuf = bytes_flag(f, flag_value(argc, argv, &i, usage), usage);
        } else {
            usage_error(usage, "unknown option '%s'", f);
        }
    }
    if (opt.sending && opt.silent)
        usage_error(usage, "--send and --silent do not go together");
    return i;
}

/* socket, [SO_REUSEADDR], buffers, bind, listen; -1 after saying why. */
static int listen_on(const char *host, const char *port)
{
    struct addrinfo hints, *list, *ai;
    char addr[ADDR_STRLEN];
    int fd = -1, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        warn_msg("getaddrinfo %s: %s", host, gai_strerror(rc));
        return -1;
    }
    for (ai = list; ai != NULL && fd == -1; ai = ai->ai_next) {
        format_addr(ai->ai_addr, ai->ai_addrlen, addr);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            warn_errno("socket %s", addr);
            continue;
        }
        /* The whole of lesson 06's first demonstration is this one call. */
        if ((opt.reuseaddr &&
             set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1) == -1) ||
            set_buffers(fd, opt.rcvbuf, opt.sndbuf) == -1) {
            close(fd);
            fd = -1;
            continue;
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
            warn_errno("bind %s", addr);
            close(fd);
            fd = -1;
        } else if (listen(fd, SOMAXCONN) == -1) {
            warn_errno("listen %s", addr);
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    return fd;
}

/*
 * write_all() for a socket with SO_SNDTIMEO. A write that waits the whole
 * timeout returns -1 with EAGAIN if it sent nothing, or a short count if
 * it sent part (POSIX says so; Linux does both): either way the client did
 * not read for that long, and both are reported as EAGAIN. Without a
 * timeout, only a stop signal makes a write short, and the loop sees it.
 */
static int send_timed(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n;

        if (stop_requested) {
            errno = EINTR;
            return -1;
        }
        n = write(fd, buf, len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        if ((size_t)n < len && opt.idle_ms > 0 && !stop_requested) {
            errno = EAGAIN;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void write_failed(const char *peer)
{
    char secs[32];

    if (errno == EAGAIN || errno == EWOULDBLOCK)
        printf("%s not reading, a write waited %s s, closing\n", peer,
               seconds_text(opt.idle_ms, secs));
    else if (errno != EINTR)
        warn_errno("write %s", peer);   /* EPIPE, ECONNRESET */
}

/* Pattern bytes to one client, then close: the data for sink.c. */
static void send_bulk(int fd, const char *peer)
{
    char buf[65536];
    unsigned long long left = opt.send_bytes;

    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)('a' + i % 26);
    while (left > 0) {
        size_t chunk = left < sizeof buf ? (size_t)left : sizeof buf;

        if (send_timed(fd, buf, chunk) == -1) {
            write_failed(peer);
            return;
        }
        left -= chunk;
    }
}

/*
 * Answers each complete line with itself; a line longer than the buffer
 * goes back in pieces. Returns when the client closes, fails, or stays
 * silent longer than the idle timeout.
 */
static void echo_lines(int fd, const char *peer)
{
    char buf[4096];
    size_t used = 0;

    for (;;) {
        ssize_t n = read(fd, buf + used, sizeof buf - used);
        size_t end = 0;

        if (n == 0)
            return;
        if (n == -1) {
            if (errno == EINTR && !stop_requested)
                continue;
            /* SO_RCVTIMEO expired: read() fails with EAGAIN (EWOULDBLOCK). */
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                char secs[32];

                printf("%s idle for %s s, closing\n", peer, seconds_text(opt.idle_ms, secs));
            } else if (errno != EINTR)
                warn_errno("read %s", peer);
            return;
        }
        used += (size_t)n;
        for (size_t i = 0; i < used; i++)
            if (buf[i] == '\n')
                end = i + 1;
        if (end == 0 && used == sizeof buf)
            end = used;
        if (opt.silent) {
            used = 0;           /* read and forget: never answer */
            continue;
        }
        if (end > 0 && send_timed(fd, buf, end) == -1) {
            write_failed(peer);
            return;
        }
        memmove(buf, buf + end, used - end);
        used -= end;
    }
}

static void serve(int fd, const char *peer)
{
    /* Silence either way: a client that sends nothing, or reads nothing. */
    if (opt.idle_ms > 0 &&
        (set_timeout_option(fd, SO_RCVTIMEO, "SO_RCVTIMEO", opt.idle_ms) == -1 ||
         set_timeout_option(fd, SO_SNDTIMEO, "SO_SNDTIMEO", opt.idle_ms) == -1))
        return;
    if (opt.sending)
        send_bulk(fd, peer);
    else
        echo_lines(fd, peer);
    if (opt.linger0) {
        /* close() now discards unsent data and sends RST instead of FIN. */
        struct linger abort_close = {.l_onoff = 1, .l_linger = 0};

        if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close) == -1)
            warn_errno("setsockopt SO_LINGER %s", peer);
    }
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    int listen_fd, first;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    first = parse_flags(argc, argv);
    server_args(argc - first + 1, argv + first - 1, usage, &port, &host);
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();

    listen_fd = listen_on(host, port);
    if (listen_fd == -1)
        return 1;
    printf("listening on %s\n", local_addr(listen_fd, addr));

    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t peer_len;
        int conn_fd = accept_client(listen_fd, &peer, &peer_len);

        if (conn_fd == -1) {
            if (errno != EINTR && errno != EMFILE)
                warn_errno("accept");
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        printf("%s connected\n", addr);
        serve(conn_fd, addr);
        close(conn_fd);
        printf("%s disconnected\n", addr);
    }
    close(listen_fd);
    return 0;
}

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
 *   -n, --no-reuseaddr    bind without SO_REUSEADDR (restart fails in TIME_WAIT)
 *   -l, --linger0         close each connection with SO_LINGER {1, 0}: an RST
 *   -t, --idle-timeout SEC  SO_RCVTIMEO and SO_SNDTIMEO: drop a client when a
 *                         read gets nothing, or a write cannot finish, for SEC s
 *   -s, --send BYTES      send each client BYTES bytes, then close; read nothing
 *   -q, --silent          read what clients send but never answer
 *   -I, --rcvbuf BYTES    SO_RCVBUF, and -O, --sndbuf BYTES SO_SNDBUF, on the
 *                         listening socket; the connections it accepts inherit them
 *
 * The options that must come before bind() are set by before_bind(), which
 * tcp_open() in options.h calls: tcp_listen() always sets SO_REUSEADDR.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "[--no-reuseaddr] [--linger0] [--idle-timeout SEC] [--send BYTES] [--silent]\n"
    "              [--rcvbuf BYTES] [--sndbuf BYTES] PORT [ADDRESS]";

static const char optstring[] = ":nlt:s:qI:O:h";
static const struct long_flag long_flags[] = {
    {"--no-reuseaddr", "-n"}, {"--linger0", "-l"}, {"--idle-timeout", "-t"},
    {"--send", "-s"}, {"--silent", "-q"}, {"--rcvbuf", "-I"}, {"--sndbuf", "-O"},
    {"--help", "-h"}, {NULL, NULL},
};

static struct {
    int reuseaddr;              /* SO_REUSEADDR before bind: on by default */
    int linger0;
    long idle_ms;               /* 0: wait for a client forever */
    int sending;
    unsigned long long send_bytes;
    int silent;
    int rcvbuf, sndbuf;         /* -1: leave the kernel's choice */
} opt = {.reuseaddr = 1, .rcvbuf = -1, .sndbuf = -1};

/* The flags; the operands (PORT [ADDRESS]) go into cl as a command line. */
static void parse_flags(int argc, char *argv[], struct cmdline *cl)
{
    int c;

    split_args(argc, argv, optstring, long_flags, usage, cl);
    while ((c = getopt(cl->flagc, cl->flagv, optstring)) != -1) {
        const char *flag = flag_name(long_flags, c);

        switch (c) {
        case 'n': opt.reuseaddr = 0; break;
        case 'l': opt.linger0 = 1; break;
        case 't': opt.idle_ms = seconds_flag(flag, optarg, usage); break;
        case 's':
            if (parse_bytes(optarg, ULLONG_MAX, &opt.send_bytes) == -1)
                usage_error(usage, "invalid size '%s' for --send: expected bytes, e.g. 4M", optarg);
            opt.sending = 1;
            break;
        case 'q': opt.silent = 1; break;
        case 'I': opt.rcvbuf = bytes_flag(flag, optarg, usage); break;
        case 'O': opt.sndbuf = bytes_flag(flag, optarg, usage); break;
        case 'h': print_usage(usage); exit(0);
        default: flag_error(c, long_flags, usage);
        }
    }
    if (opt.sending && opt.silent)
        usage_error(usage, "--send and --silent do not go together");
}

/* Run by tcp_open() on the new socket, before bind(). */
static int before_bind(int fd)
{
    /* The whole of lesson 06's first demonstration is this one call. */
    if (opt.reuseaddr && set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1) == -1)
        return -1;
    return set_buffers(fd, opt.rcvbuf, opt.sndbuf);
}

/* After write_timed(): EAGAIN is the send timeout, not an error. */
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

        if (write_timed(fd, buf, chunk, opt.idle_ms > 0, &stop_requested) == -1) {
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

    while (!stop_requested) {   /* also when every read() finds data */
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
        if (end > 0 && write_timed(fd, buf, end, opt.idle_ms > 0, &stop_requested) == -1) {
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
    struct cmdline cl;
    int listen_fd;

    set_progname(argv[0]);
    parse_flags(argc, argv, &cl);
    server_args(cl.argc, cl.argv, usage, &port, &host);
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();

    listen_fd = tcp_open(host, port, 1, before_bind, addr);
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

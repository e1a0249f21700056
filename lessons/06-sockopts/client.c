/*
 * Lesson 06 client: sends each line of standard input and prints the reply
 * line, in lock step, with the options that decide how long it waits.
 *
 *     usage: client [--timeout SEC] [--keepalive IDLE,INTERVAL,COUNT] HOST PORT
 *
 *   -t, --timeout SEC    SO_RCVTIMEO: give up on a reply after SEC seconds
 *                        instead of waiting forever for a server that hangs
 *   -k, --keepalive I,N,C  SO_KEEPALIVE with TCP_KEEPIDLE I, TCP_KEEPINTVL N
 *                        and TCP_KEEPCNT C (seconds, seconds, probes): notice
 *                        a peer that has vanished without a word. The three
 *                        timers are not POSIX; where the system lacks them,
 *                        the client says so and keepalive uses its defaults.
 *
 * Without either, a reply that never comes is waited for forever: a TCP
 * connection has no timeout of its own while nothing is being sent.
 *
 * Ctrl-C (SIGINT) keeps its default action: the client holds nothing to
 * clean up, and dying by the signal lets a shell loop around it stop too.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "options.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "[--timeout SEC] [--keepalive IDLE,INTERVAL,COUNT] HOST PORT";

static long timeout_ms;             /* 0: wait forever */
static int keepalive[3];            /* idle, interval, count; 0: off */

/* "5,1,3": three whole numbers from 1 to 32767, or a usage error. */
static void parse_keepalive(const char *s)
{
    const char *p = s;

    for (int k = 0; k < 3; k++) {
        long v = 0;

        if (*p < '0' || *p > '9')
            goto bad;
        for (; *p >= '0' && *p <= '9'; p++)
            if ((v = v * 10 + (*p - '0')) > 32767)
                goto bad;
        if (v == 0 || *p != (k < 2 ? ',' : '\0'))
            goto bad;
        keepalive[k] = (int)v;
        p++;
    }
    return;
bad:
    usage_error(usage, "invalid keepalive '%s': expected IDLE,INTERVAL,COUNT, e.g. 5,1,3", s);
}

static const char optstring[] = ":t:k:h";
static const struct long_flag long_flags[] = {
    {"--timeout", "-t"}, {"--keepalive", "-k"}, {"--help", "-h"}, {NULL, NULL},
};

/* The flags; the operands (HOST PORT) go into cl as a command line. */
static void parse_flags(int argc, char *argv[], struct cmdline *cl)
{
    int c;

    split_args(argc, argv, optstring, long_flags, usage, cl);
    while ((c = getopt(cl->flagc, cl->flagv, optstring)) != -1) {
        switch (c) {
        case 't': timeout_ms = seconds_flag("--timeout", optarg, usage); break;
        case 'k': parse_keepalive(optarg); break;
        case 'h': print_usage(usage); exit(0);
        default: flag_error(c, long_flags, usage);
        }
    }
}

static int set_options(int fd)
{
    if (timeout_ms > 0 &&
        set_timeout_option(fd, SO_RCVTIMEO, "SO_RCVTIMEO", timeout_ms) == -1)
        return -1;
    if (keepalive[0] == 0)
        return 0;
    /* The switch is POSIX; the three timers are Linux's (and some BSDs'). */
    if (set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1) == -1)
        return -1;
#if defined(TCP_KEEPIDLE) && defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
    if (set_int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", keepalive[0]) == -1 ||
        set_int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", keepalive[1]) == -1 ||
        set_int_option(fd, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", keepalive[2]) == -1)
        return -1;
#else
    warn_msg("no TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT here: keepalive on, with the system's timers");
#endif
    return 0;
}

/* Reads up to and including a newline: its length, 0 at EOF, -1 on error. */
static ssize_t read_line(int fd, char *buf, size_t size)
{
    size_t used = 0;

    while (used < size) {
        ssize_t n = read(fd, buf + used, size - used);

        if (n == 0)
            return 0;
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        used += (size_t)n;
        if (memchr(buf + used - (size_t)n, '\n', (size_t)n) != NULL)
            return (ssize_t)used;
    }
    return (ssize_t)used;       /* the echo of a line longer than buf */
}

int main(int argc, char *argv[])
{
    const char *host, *port;
    char server[ADDR_STRLEN], secs[32], reply[4096];
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    struct cmdline cl;
    int fd, status = 1;

    set_progname(argv[0]);
    parse_flags(argc, argv, &cl);
    client_args(cl.argc, cl.argv, usage, &host, &port);
    signal(SIGPIPE, SIG_IGN);

    fd = tcp_connect(host, port);
    if (fd == -1)
        return 1;
    peer_addr(fd, server);
    if (set_options(fd) == -1)
        goto out;

    while ((len = getline(&line, &cap, stdin)) != -1) {
        size_t want = (size_t)len;
        ssize_t got;

        if (line[want - 1] != '\n') {
            /* The server answers complete lines only. */
            char *longer = realloc(line, want + 2);

            if (longer == NULL) {
                warn_errno("realloc");
                goto out;
            }
            line = longer;
            line[want++] = '\n';
            line[want] = '\0';
        }
        if (write_all(fd, line, want, NULL) == -1) {
            warn_errno("write %s", server);
            goto out;
        }
        for (size_t done = 0; done < want; done += (size_t)got) {
            got = read_line(fd, reply, sizeof reply);
            if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                /* What SO_RCVTIMEO looks like when it fires. */
                warn_msg("no reply from %s within %s s (SO_RCVTIMEO), giving up",
                         server, seconds_text(timeout_ms, secs));
                goto out;
            }
            if (got == -1) {
                warn_errno("read %s", server);  /* ETIMEDOUT: keepalive gave up */
                goto out;
            }
            if (got == 0) {
                warn_msg("%s closed the connection", server);
                goto out;
            }
            if (write_all(STDOUT_FILENO, reply, (size_t)got, NULL) == -1) {
                warn_errno("write standard output");
                goto out;
            }
        }
    }
    if (ferror(stdin))
        warn_errno("read standard input");
    else
        status = 0;
out:
    free(line);
    close(fd);
    return status;
}

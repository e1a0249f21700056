/*
 * Lesson 07 relay: a bad network on demand, between a UDP client and its
 * server, on loopback, without root.
 *
 *     usage: relay [--loss PCT] [--dup PCT] [--reorder PCT] [--seed N]
 *                  PORT TARGET_HOST TARGET_PORT
 *
 * It listens on 127.0.0.1:PORT and passes every datagram from the client
 * to the target and every reply back to the client, except that, each way:
 *
 *   --loss PCT     drops PCT percent of the datagrams
 *   --dup PCT      sends PCT percent of them twice
 *   --reorder PCT  holds PCT percent back and sends them after the next one
 *                  (or after HOLD_MS if no next one comes)
 *   --seed N       the seed of the random choices (default 1): the same
 *                  seed and the same traffic give the same losses, on any
 *                  machine, so a failing test can be replayed
 *
 * Each datagram that is dropped, duplicated or held back is logged with
 * its number; at the end, a summary. One client at a time: replies go to
 * whoever sent the last datagram, which is all a test needs.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "udp.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "[--loss PCT] [--dup PCT] [--reorder PCT] [--seed N] PORT TARGET_HOST TARGET_PORT";

/* How long a datagram held back waits for a next one to overtake it. */
#define HOLD_MS 50

static unsigned long loss, twice_pct, reorder;
static uint32_t seed = 1, state;
static unsigned long count, dropped, doubled, reordered;
static unsigned long log_dropped;   /* log lines stdout did not take */

/* One direction: where datagrams go, and the one held back, if any. */
struct way {
    const char *name;
    int fd;
    struct sockaddr_storage to;     /* for the client side: the last client */
    socklen_t to_len;               /* 0: nobody to send to yet */
    char held[MAX_DATAGRAM + 1];
    ssize_t held_len;               /* -1: nothing held */
    long long held_since;
};

/*
 * A flood of datagrams is a flood of log lines. A write() to a stdout
 * nobody reads would block, and the relay would neither relay nor stop
 * (a stop signal cuts that write short, then the summary's write blocks
 * for good). So, as in lesson 05, a line goes out only if stdout can take
 * it now; otherwise it is counted, and the count goes out with the next
 * line.
 */
__attribute__((format(printf, 1, 2)))
static void log_line(const char *fmt, ...)
{
    struct pollfd out = {.fd = STDOUT_FILENO, .events = POLLOUT};
    char line[128];
    size_t len = 0;
    va_list ap;
    int n;

    if (poll(&out, 1, 0) != 1 || !(out.revents & POLLOUT)) {
        log_dropped++;
        return;
    }
    if (log_dropped > 0) {
        n = snprintf(line, sizeof line, "%s: %lu log lines dropped: stdout was not read\n",
                     progname(), log_dropped);
        len = (size_t)n;
    }
    va_start(ap, fmt);
    n = vsnprintf(line + len, sizeof line - len, fmt, ap);
    va_end(ap);
    len += (size_t)n;
    if (len >= sizeof line)
        len = sizeof line - 1;      /* cut (our lines are shorter) */
    _Static_assert(sizeof line <= PIPE_BUF, "a log line must go into a pipe whole");
    if (write(STDOUT_FILENO, line, len) == (ssize_t)len)
        log_dropped = 0;
    else
        log_dropped++;              /* EPIPE: the reader has gone */
}

static void deliver(struct way *w, const char *data, size_t len)
{
    char text[ADDR_STRLEN];

    if (sendto(w->fd, data, len, 0, (struct sockaddr *)&w->to, w->to_len) == -1)
        warn_errno("sendto %s", format_addr((struct sockaddr *)&w->to, w->to_len, text));
}

static void release_held(struct way *w)
{
    if (w->held_len >= 0) {
        deliver(w, w->held, (size_t)w->held_len);
        w->held_len = -1;
    }
}

/* The fate of one datagram: three draws each time, so the sequence of
 * random numbers depends on the traffic only, not on earlier fates. */
static void pass(struct way *w, const char *data, size_t len)
{
    unsigned long n = ++count;
    int lose = next_random(&state) % 100 < loss;
    int twice = next_random(&state) % 100 < twice_pct;
    int hold = next_random(&state) % 100 < reorder;

    if (lose) {
        dropped++;
        log_line("#%lu %s, %zu bytes: dropped\n", n, w->name, len);
        return;
    }
    if (hold && w->held_len < 0) {
        reordered++;
        log_line("#%lu %s, %zu bytes: held back\n", n, w->name, len);
        memcpy(w->held, data, len);
        w->held_len = (ssize_t)len;
        w->held_since = now_ms();
        return;
    }
    deliver(w, data, len);
    if (twice) {
        doubled++;
        log_line("#%lu %s, %zu bytes: sent twice\n", n, w->name, len);
        deliver(w, data, len);
    }
    release_held(w);                /* it has been overtaken: now it goes */
}

static int parse_flags(int argc, char *argv[])
{
    int i;

    for (i = 1; i < argc && is_flag(argv[i]); i++) {
        const char *f = argv[i];

        if (strcmp(f, "--loss") == 0)
            loss = count_flag(f, flag_value(argc, argv, &i, usage), 0, 100, usage);
        else if (strcmp(f, "--dup") == 0)
            twice_pct = count_flag(f, flag_value(argc, argv, &i, usage), 0, 100, usage);
        else if (strcmp(f, "--reorder") == 0)
            reorder = count_flag(f, flag_value(argc, argv, &i, usage), 0, 100, usage);
        else if (strcmp(f, "--seed") == 0)
            seed = (uint32_t)count_flag(f, flag_value(argc, argv, &i, usage), 1, 4294967295u, usage);
        else
            usage_error(usage, "unknown option '%s'", f);
    }
    return i;
}

int main(int argc, char *argv[])
{
    static struct way to_server = {.name = "to the server", .held_len = -1};
    static struct way to_client = {.name = "to the client", .held_len = -1};
    static char buf[MAX_DATAGRAM + 1];
    const char *port, *target_host, *target_port;
    struct sockaddr_storage self;
    socklen_t self_len;
    char addr[ADDR_STRLEN];
    int i;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    i = parse_flags(argc, argv);
    if (argc - i != 3)
        usage_error(usage, argc - i < 3 ? "missing port or target" : "too many arguments");
    server_args(2, argv + i - 1, usage, &port, &target_host);
    client_args(3, argv + i, usage, &target_host, &target_port);
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();
    state = mix_seed(seed);

    to_client.fd = udp_open("127.0.0.1", port, 1, &self, &self_len);
    if (to_client.fd == -1)
        return 1;
    to_server.fd = udp_open(target_host, target_port, 0, &to_server.to, &to_server.to_len);
    if (to_server.fd == -1) {
        close(to_client.fd);
        return 1;
    }
    printf("listening on %s\n", local_addr(to_client.fd, addr));
    format_addr((struct sockaddr *)&to_server.to, to_server.to_len, addr);
    printf("relaying to %s: loss %lu%%, dup %lu%%, reorder %lu%%, seed %lu\n",
           addr, loss, twice_pct, reorder, (unsigned long)seed);

    while (!stop_requested) {
        struct pollfd p[2] = {{.fd = to_client.fd, .events = POLLIN},
                              {.fd = to_server.fd, .events = POLLIN}};
        int wait = to_server.held_len >= 0 || to_client.held_len >= 0 ? HOLD_MS / 2 : -1;

        if (poll(p, 2, wait) == -1) {
            if (errno != EINTR)
                warn_errno("poll");
            continue;
        }
        for (int k = 0; k < 2; k++) {
            struct way *from = k == 0 ? &to_client : &to_server;
            struct way *onward = k == 0 ? &to_server : &to_client;
            struct sockaddr_storage peer;
            socklen_t peer_len = sizeof peer;
            ssize_t n;

            if (!(p[k].revents & (POLLIN | POLLERR)))
                continue;
            n = recvfrom(from->fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &peer_len);
            if (n == -1) {
                if (errno != EINTR)
                    warn_errno("recvfrom");    /* ECONNREFUSED: no server */
                continue;
            }
            if (k == 1 && !same_addr(&peer, peer_len, &to_server.to, to_server.to_len))
                continue;                      /* not from the target */
            if (k == 0) {
                memcpy(&to_client.to, &peer, peer_len);
                to_client.to_len = peer_len;
            }
            if (onward->to_len > 0)
                pass(onward, buf, (size_t)n);
        }
        if (to_server.held_len >= 0 && now_ms() - to_server.held_since >= HOLD_MS)
            release_held(&to_server);
        if (to_client.held_len >= 0 && now_ms() - to_client.held_since >= HOLD_MS)
            release_held(&to_client);
    }

    log_line("relayed %lu datagrams: %lu dropped, %lu sent twice, %lu held back\n",
             count, dropped, doubled, reordered);
    close(to_client.fd);
    close(to_server.fd);
    return 0;
}

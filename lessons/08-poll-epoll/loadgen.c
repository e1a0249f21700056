/*
 * Lesson 08 loadgen: an echo load generator on epoll, to measure the
 * lessons' servers (and any echo server). Linux only.
 *
 *     usage: loadgen [-c CONNS] [-s BYTES] [-d SECONDS] [-w SECONDS]
 *                    [-r MSGS_PER_S] [-n COUNT] [-p SERVER_PID] [-C CPU] HOST PORT
 *
 * CONNS connections (default 10) each send BYTES-byte messages (64) for
 * SECONDS (5) after a warm-up (1) that is not counted. Closed loop (the
 * default): each connection keeps one message in flight and sends the next
 * when the echo is back. Open loop (-r): messages leave at a fixed total
 * rate whatever the server does, and each latency counts from when its
 * message was due, not when it went: a server that stalls for 100 ms
 * shows 100 ms in the latencies, instead of fewer messages (the closed
 * loop's blind spot, "coordinated omission").
 *
 * Every echoed byte is checked against what was sent (a pattern of the
 * connection and the offset). At the end: messages per second, latency
 * percentiles, the CPU time loadgen used per message, and with -p the
 * server's (its threads and live children included: lesson 03's fork).
 * -C pins loadgen to one CPU (pin the server to another with taskset).
 *
 * Connections mode (-n): the cost of a connection rather than of a
 * message. CONNS connections at a time each connect, send one message,
 * read its echo and close, and the next one starts, until COUNT
 * connections have been made or SECONDS have passed. It prints
 * connections per second, percentiles of the time from connect() to the
 * whole echo, and the CPU time per connection.
 * Exit status 1 on a wrong byte or a lost connection.
 */
#define _GNU_SOURCE     /* sched_setaffinity() */

#ifndef __linux__
#error "loadgen uses epoll: Linux-only"
#endif

#include "socklab.h"

#include <ctype.h>
#include <netdb.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "[-c CONNS] [-s BYTES] [-d SECONDS] [-w SECONDS] [-r MSGS_PER_S] [-n COUNT] [-p SERVER_PID] [-C CPU] HOST PORT";

#define MAX_INFLIGHT 4096   /* open loop: messages due but not echoed, per connection */
#define HIST_SUB 32         /* latency buckets per power of two: 3% wide */

struct conn {
    int fd;
    uint64_t sent, received;    /* stream offsets */
    uint64_t due;               /* bytes that should have been sent by now */
    int64_t *when;              /* ring: when each message in flight was due (ns) */
    uint64_t next_msg;          /* open loop: the index of the next message due */
};

static size_t msg_size = 64;
static long long hist[64 * HIST_SUB];
static uint64_t counted;

static int64_t now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The byte at offset off of connection i's stream: a wrong, lost or
 * swapped byte is found at once. */
static unsigned char pattern(size_t i, uint64_t off)
{
    return (unsigned char)(off * 31 + (off >> 9) + i * 101);
}

static int bucket(int64_t ns)
{
    uint64_t v = ns < 1 ? 1 : (uint64_t)ns;
    int p = 63 - __builtin_clzll(v);

    if (p < 5)
        return (int)v;
    return (p - 4) * HIST_SUB + (int)((v >> (p - 5)) & (HIST_SUB - 1));
}

static double bucket_ns(int b)
{
    if (b < HIST_SUB)
        return b;
    int p = b / HIST_SUB + 4;
    return (double)((uint64_t)(HIST_SUB + b % HIST_SUB) << (p - 5));
}

static double percentile(double q)
{
    long long want = (long long)((double)counted * q), seen = 0;

    for (int b = 0; b < 64 * HIST_SUB; b++)
        if ((seen += hist[b]) > want)
            return bucket_ns(b) / 1000;
    return 0;
}

static double number(const char *s, double min, double max, const char *what)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
        usage_error(usage, "invalid %s '%s': expected %g to %g", what, s, min, max);
    return v;
}

/*
 * The run time of a single-threaded process in seconds, to the
 * nanosecond, from Linux's /proc/PID/sched; -1 where that is missing.
 */
static double sched_secs(long pid)
{
    char path[64], line[256];
    double ms = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/sched", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "se.sum_exec_runtime", 19) == 0) {
            char *colon = strchr(line, ':');
            if (colon != NULL)
                ms = strtod(colon + 1, NULL);
            break;
        }
    fclose(f);
    return ms < 0 ? -1 : ms / 1000;
}

/*
 * CPU seconds of a process, its threads, reaped children and live
 * children. /proc/PID/stat counts in clock ticks (10 ms), rounded down
 * for each process: summed over a thousand live children that have run a
 * few milliseconds each, that loses seconds. So a live single-threaded
 * child's own time comes from sched_secs() where it can.
 */
static double proc_cpu(long pid, int child)
{
    char path[64], buf[4096];
    unsigned long long ut, st;
    long long cut, cst, threads;
    double total = 0, own = -1, tick = (double)sysconf(_SC_CLK_TCK);
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    if (fgets(buf, sizeof buf, f) != NULL) {
        char *p = strrchr(buf, ')');    /* the name may hold spaces */
        if (p != NULL && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld %*d %*d %lld",
                                &ut, &st, &cut, &cst, &threads) == 5) {
            if (child && threads == 1)
                own = sched_secs(pid);
            total = (own >= 0 ? own : (double)(ut + st) / tick) + (double)(cut + cst) / tick;
        }
    }
    fclose(f);
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", pid, pid);
    if ((f = fopen(path, "r")) != NULL) {
        long c;
        while (fscanf(f, "%ld", &c) == 1) {
            double t = proc_cpu(c, 1);
            if (t > 0)
                total += t;
        }
        fclose(f);
    }
    return total;
}

static double self_cpu(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Writes what is due and the socket takes. */
static int send_due(struct conn *c, size_t i, char *buf)
{
    while (c->sent < c->due) {
        size_t len = c->due - c->sent < 65536 ? (size_t)(c->due - c->sent) : 65536;
        for (size_t k = 0; k < len; k++)
            buf[k] = (char)pattern(i, c->sent + k);
        ssize_t n = write(c->fd, buf, len);
        if (n == -1)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        c->sent += (size_t)n;
    }
    return 0;
}

/*
 * A fork server's children are counted whole once reaped (cutime): a live
 * child's time can vanish from the sum while it exits. So the caller
 * closes its connections first, and waits (2 s at most) until the list of
 * children has stayed the same for 100 ms: those that served the
 * connections have gone, a pool's workers stay (and are counted live).
 */
static void wait_for_children(long pid)
{
    static char was[65536], is[65536];
    char path[64];
    size_t was_len = (size_t)-1;

    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", pid, pid);
    for (int tries = 0, same = 0; pid && tries < 200 && same < 10; tries++) {
        FILE *f = fopen(path, "r");
        size_t len = 0;

        if (f != NULL) {
            len = fread(is, 1, sizeof is, f);
            fclose(f);
        }
        same = len == was_len && memcmp(is, was, len) == 0 ? same + 1 : 0;
        memcpy(was, is, len);
        was_len = len;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
}

/* Connections mode: starts connection number id in slot, without waiting
 * for the handshake (the socket is non-blocking: EINPROGRESS). */
static int start_conn(struct conn *c, const struct addrinfo *ai, const char *addr,
                      int epfd, size_t slot)
{
    int one = 1;

    c->sent = c->received = 0;
    c->due = msg_size;
    c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (c->fd == -1) {
        warn_errno("socket");
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno != EINPROGRESS) {
        warn_errno("connect %s", addr);     /* EADDRNOTAVAIL: out of local ports */
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = slot};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
        warn_errno("epoll_ctl");
        return -1;
    }
    return 0;
}

/*
 * Connections mode (-n): nconns slots, each connecting, sending one
 * message, reading its echo and closing, then starting the next, until
 * count connections were made or the time is up. Then no new one starts,
 * and those under way get 2 s to finish: cutting them off would make the
 * server log resets. Every connection goes to host:port's first address.
 */
static int run_connections(const char *host, const char *port, size_t nconns, long count,
                           double duration, double warmup, long server_pid, char *buf)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    char addr[ADDR_STRLEN];
    int rc = getaddrinfo(host, port, &hints, &ai), epfd;

    if (rc != 0) {
        warn_msg("%s port %s: %s", host, port, gai_strerror(rc));
        return 1;
    }
    format_addr(ai->ai_addr, ai->ai_addrlen, addr);
    if ((size_t)count < nconns)
        nconns = (size_t)count;
    struct conn *conns = calloc(nconns, sizeof *conns);
    uint64_t *id = calloc(nconns, sizeof *id);
    int64_t *began = calloc(nconns, sizeof *began);
    struct epoll_event *events = calloc(nconns, sizeof *events);
    if (conns == NULL || id == NULL || began == NULL || events == NULL ||
        (epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
        die_errno("setup");

    int64_t start = now_ns(), measure_at = start + (int64_t)(warmup * 1e9);
    int64_t end = measure_at + (int64_t)(duration * 1e9), end_at = 0;
    long made = 0, done = 0;        /* done: finished since measure_at */
    size_t active = 0;
    double cpu0 = 0, server0 = 0;
    int measuring = 0;

    for (size_t i = 0; i < nconns; i++, made++, active++) {
        id[i] = (uint64_t)made;
        began[i] = now_ns();
        if (start_conn(&conns[i], ai, addr, epfd, i) == -1)
            return 1;
    }
    while (active > 0) {
        int64_t now = now_ns();
        if (!measuring && now >= measure_at) {
            measuring = 1;
            cpu0 = self_cpu();
            server0 = server_pid ? proc_cpu(server_pid, 0) : 0;
        }
        if (end_at == 0 && now >= end)
            end_at = now;
        if (end_at != 0 && now >= end_at + 2000000000) {
            warn_msg("%zu connections unanswered 2 s after the end", active);
            return 1;
        }
        int timeout = end_at != 0 ? 10 : (int)((end - now) / 1000000) + 1;
        int n = epoll_wait(epfd, events, (int)nconns, timeout);
        if (n == -1 && errno != EINTR)
            die_errno("epoll_wait");
        for (int e = 0; e < n; e++) {
            size_t i = (size_t)events[e].data.u64;
            struct conn *c = &conns[i];

            if (c->sent < c->due) {         /* connected, or more to send */
                int err = 0;
                socklen_t len = sizeof err;
                if (c->sent == 0 && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) {
                    warn_err(err, "connect %s", addr);
                    return 1;
                }
                if (send_due(c, (size_t)id[i], buf) == -1) {
                    warn_errno("write connection %" PRIu64, id[i]);
                    return 1;
                }
                struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
                if (c->sent == c->due && epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1)
                    die_errno("epoll_ctl");
                continue;
            }
            ssize_t got = read(c->fd, buf, 65536);
            if (got == -1 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (got <= 0) {
                if (got == 0)
                    warn_msg("connection %" PRIu64 " closed by the server after %" PRIu64 " bytes",
                             id[i], c->received);
                else
                    warn_errno("read connection %" PRIu64, id[i]);
                return 1;
            }
            for (ssize_t k = 0; k < got; k++, c->received++)
                if ((unsigned char)buf[k] != pattern((size_t)id[i], c->received)) {
                    warn_msg("connection %" PRIu64 ": byte %" PRIu64 " is 0x%02x, 0x%02x was sent",
                             id[i], c->received, (unsigned char)buf[k],
                             pattern((size_t)id[i], c->received));
                    return 1;
                }
            if (c->received > c->sent) {
                warn_msg("connection %" PRIu64 ": more bytes back than were sent", id[i]);
                return 1;
            }
            if (c->received < msg_size)
                continue;
            now = now_ns();
            close(c->fd);
            active--;
            if (measuring) {
                done++;
                if (end_at == 0) {
                    hist[bucket(now - began[i])]++;
                    counted++;
                }
            }
            if (end_at == 0 && made < count) {
                id[i] = (uint64_t)made++;
                began[i] = now;
                if (start_conn(c, ai, addr, epfd, i) == -1)
                    return 1;
                active++;
            }
        }
    }

    if (end_at == 0)                    /* COUNT was reached before the time */
        end_at = now_ns();
    double cpu_used = self_cpu() - cpu0, server = -1;
    double secs = (double)(end_at - measure_at) / 1e9;
    wait_for_children(server_pid);
    nanosleep(&(struct timespec){0, 20000000}, NULL);   /* the last closes */
    if (server_pid)
        server = proc_cpu(server_pid, 0) - server0;
    printf("%" PRIu64 " connections, %zu-byte messages, %zu at a time, %.1f s counted after %.1f s warm-up\n",
           counted, msg_size, nconns, secs > 0 ? secs : 0, warmup);
    printf("%.0f conns/s, latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n",
           secs > 0 ? (double)counted / secs : 0, percentile(0.50), percentile(0.99), percentile(0.999));
    printf("CPU per connection: loadgen %.2f us", done ? cpu_used * 1e6 / (double)done : 0);
    if (server_pid)
        printf(", server %.2f us", done && server >= 0 ? server * 1e6 / (double)done : 0);
    printf("\n");
    freeaddrinfo(ai);
    free(conns);
    free(id);
    free(began);
    free(events);
    close(epfd);
    if (counted == 0 && secs <= 0) {
        warn_msg("all %ld connections were made in the %.1f s warm-up: raise -n or lower -w",
                 made, warmup);
        return 1;
    }
    if (counted == 0) {
        warn_msg("no connection was counted in %.1f s", secs);
        return 1;
    }
    return 0;
}

int main(int argc, char *argv[])
{
    size_t nconns = 10;
    double duration = 5, warmup = 1, rate = 0;
    long server_pid = 0, count = 0;
    int cpu = -1, epfd, argi, status = 0;
    const char *host, *port;
    static char buf[65536];

    set_progname(argv[0]);
    for (argi = 1; !wants_help(argc, argv) && argi + 1 < argc && argv[argi][0] == '-' &&
                   isalpha((unsigned char)argv[argi][1]) && argv[argi][2] == '\0';
         argi += 2) {
        const char *v = argv[argi + 1];
        switch (argv[argi][1]) {
        case 'c': nconns = (size_t)number(v, 1, 20000, "connections"); break;
        case 's': msg_size = (size_t)number(v, 1, 1 << 20, "message size"); break;
        case 'd': duration = number(v, 0.1, 600, "duration"); break;
        case 'w': warmup = number(v, 0, 60, "warm-up"); break;
        case 'r': rate = number(v, 1, 1e7, "rate"); break;
        case 'n': count = (long)number(v, 1, 1000000, "connection count"); break;
        case 'p': server_pid = (long)number(v, 1, 1 << 22, "pid"); break;
        case 'C': cpu = (int)number(v, 0, CPU_SETSIZE - 1, "cpu"); break;
        default: usage_error(usage, "unknown option '%s'", argv[argi]);
        }
    }
    argv[argi - 1] = argv[0];
    client_args(argc - argi + 1, argv + argi - 1, usage, &host, &port);
    if (count > 0 && rate > 0)
        usage_error(usage, "-n (connections) and -r (open loop) do not go together");

    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((size_t)cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) == -1)
            die_errno("sched_setaffinity %d", cpu);
    }
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    if (count > 0)
        return run_connections(host, port, nconns, count, duration, warmup, server_pid, buf);

    struct conn *conns = calloc(nconns, sizeof *conns);
    struct epoll_event *events = calloc(nconns, sizeof *events);
    if (conns == NULL || events == NULL || (epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
        die_errno("setup");
    for (size_t i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        int one = 1;
        if ((c->fd = tcp_connect(host, port)) == -1)
            return 1;
        c->when = malloc(sizeof *c->when * (rate > 0 ? MAX_INFLIGHT : 1));
        if (c->when == NULL)
            die_errno("malloc");
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
            die_errno("epoll_ctl");
    }

    int64_t start = now_ns(), measure_at = start + (int64_t)(warmup * 1e9);
    int64_t end = measure_at + (int64_t)(duration * 1e9), interval = 0;
    double cpu0 = 0, server0 = 0;
    int measuring = 0;
    if (rate > 0)                           /* each connection's share */
        interval = (int64_t)(1e9 * (double)nconns / rate);
    for (size_t i = 0; i < nconns; i++) {   /* closed loop: the first messages */
        conns[i].when[0] = now_ns();
        conns[i].due = rate > 0 ? 0 : msg_size;
        if (send_due(&conns[i], i, buf) == -1)
            die_errno("write");
    }

    for (;;) {
        int64_t now = now_ns();
        if (now >= end)
            break;
        if (!measuring && now >= measure_at) {
            measuring = 1;
            cpu0 = self_cpu();
            server0 = server_pid ? proc_cpu(server_pid, 0) : 0;
        }
        int timeout = (int)((end - now) / 1000000) + 1;
        if (rate > 0) {                     /* open loop: what is due now goes */
            timeout = 1;
            for (size_t i = 0; i < nconns; i++) {
                struct conn *c = &conns[i];
                int64_t due_at = start + (int64_t)(i * (uint64_t)interval / nconns);
                while (due_at + (int64_t)c->next_msg * interval <= now) {
                    if (c->next_msg - c->received / msg_size >= MAX_INFLIGHT) {
                        warn_msg("connection %zu: %d messages unanswered: the server cannot keep up with -r %g",
                                 i, MAX_INFLIGHT, rate);
                        return 1;
                    }
                    c->when[c->next_msg % MAX_INFLIGHT] = due_at + (int64_t)c->next_msg * interval;
                    c->next_msg++;
                    c->due += msg_size;
                }
                if (send_due(c, i, buf) == -1)
                    die_errno("write connection %zu", i);
            }
        }
        int n = epoll_wait(epfd, events, (int)nconns, timeout);
        if (n == -1 && errno != EINTR)
            die_errno("epoll_wait");
        for (int e = 0; e < n; e++) {
            size_t i = (size_t)events[e].data.u64;
            struct conn *c = &conns[i];
            ssize_t got = read(c->fd, buf, sizeof buf);

            if (got == 0 || (got == -1 && errno != EAGAIN && errno != EINTR)) {
                warn_msg("connection %zu closed by the server after %" PRIu64 " bytes", i, c->received);
                return 1;
            }
            if (got < 0)
                continue;
            now = now_ns();
            for (ssize_t k = 0; k < got; k++) {
                if ((unsigned char)buf[k] != pattern(i, c->received)) {
                    warn_msg("connection %zu: byte %" PRIu64 " is 0x%02x, 0x%02x was sent",
                             i, c->received, (unsigned char)buf[k], pattern(i, c->received));
                    return 1;
                }
                if (++c->received % msg_size != 0)
                    continue;
                uint64_t m = c->received / msg_size - 1;    /* a message is whole */
                int64_t t0 = c->when[rate > 0 ? m % MAX_INFLIGHT : 0];
                if (measuring && t0 >= measure_at) {
                    hist[bucket(now - t0)]++;
                    counted++;
                }
                if (rate == 0) {            /* closed loop: the next one */
                    c->when[0] = now;
                    c->due += msg_size;
                }
            }
            if (c->received > c->sent) {
                warn_msg("connection %zu: more bytes back than were sent", i);
                return 1;
            }
            if (send_due(c, i, buf) == -1)
                die_errno("write connection %zu", i);
        }
    }

    double cpu_used = self_cpu() - cpu0, server = -1;
    double secs = (double)(now_ns() - measure_at) / 1e9, per_s = (double)counted / secs;
    for (size_t i = 0; i < nconns; i++) {
        close(conns[i].fd);
        free(conns[i].when);
    }
    wait_for_children(server_pid);
    if (server_pid)
        server = proc_cpu(server_pid, 0) - server0;
    printf("%zu connections, %zu-byte messages, %s, %.1f s counted after %.1f s warm-up\n",
           nconns, msg_size, rate > 0 ? "open loop" : "closed loop", secs, warmup);
    printf("%.0f msgs/s, latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n",
           per_s, percentile(0.50), percentile(0.99), percentile(0.999));
    printf("CPU per message: loadgen %.2f us", counted ? cpu_used * 1e6 / (double)counted : 0);
    if (server_pid)
        printf(", server %.2f us", counted && server >= 0 ? server * 1e6 / (double)counted : 0);
    printf("\n");
    if (counted == 0) {
        warn_msg("no message came back in %.1f s", secs);
        status = 1;
    }
    free(conns);
    free(events);
    close(epfd);
    return status;
}

/*
 * Exercise 08-idle, a solution: lesson 08's server-poll, and clients idle
 * for IDLE_SECONDS are closed (-t), with one list in order of last
 * activity: the head is always the next to expire, so a turn costs O(1)
 * per event and per expiry, never a scan of every client.
 *
 *     usage: server [-t IDLE_SECONDS] PORT [ADDRESS]
 *
 * What follows is server-poll's header.
 *
 *     usage: server PORT [ADDRESS]
 *
 * Lessons 03 and 04 gave every client a process or a thread of its own, which
 * may block in read() or write() without holding up the others. Here one
 * loop serves everybody: poll() says which descriptors are ready, and the
 * server only calls accept(), read() and write() on one that will not make
 * it wait. What keeps that promise:
 *
 *   - Every socket is non-blocking (O_NONBLOCK). "Writable" means that some
 *     space is free in the socket's send buffer, not that all of a write
 *     fits: a blocking write() of more would still put the server to sleep.
 *   - Back-pressure: bytes the socket did not take wait in the client's
 *     buffer, and until they are sent nothing more is read from that client.
 *     One that sends and never reads only stalls itself, and costs the
 *     server one buffer.
 *   - The log is one more descriptor: lines wait in a bounded buffer until
 *     stdout is writable; if nobody reads them, new ones are counted and
 *     dropped, and the server goes on (and can still be stopped).
 *   - poll() takes an array of (descriptor, events) pairs, as long as the
 *     process may hold descriptors: no FD_SETSIZE wall. It still reads the
 *     whole array every turn, ready descriptors or not.
 *   - Out of descriptors, the listener is left out of the array for a while
 *     instead of being found readable again at once, for ever.
 *
 * The protocol and the log lines are lesson 02's, so lesson 02's client
 * works unchanged.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef PIPE_BUF
#define PIPE_BUF _POSIX_PIPE_BUF    /* a system may leave it to pathconf() */
#endif

static const char usage[] = "[-t IDLE_SECONDS] PORT [ADDRESS]";

/* Bytes read from a client at once: its echo must go out before the next. */
#define BUF_SIZE 4096

struct client {
    int fd;
    long long last_active;          /* now_ms() of its last read or write */
    struct client *older, *newer;   /* the idle list */
    char addr[ADDR_STRLEN];
    int eof;                    /* it has closed its side: flush, then close */
    size_t out_start, out_end;  /* bytes not sent yet: out[out_start..out_end) */
    char out[BUF_SIZE];
};

/* One slot per descriptor the process may hold (fd_limit, from
 * RLIMIT_NOFILE); NULL where no client is. fd_end: one past the highest. */
static struct client **clients;
static struct pollfd *watched;
static int fd_limit, fd_end;

static unsigned long log_dropped;  /* log lines stdout did not take */

static long long idle_ms;               /* 0: no timeout */
static struct client *oldest, *newest;  /* least recently active first */

/* Adds fd to the array poll() reads; returns its index. */
static nfds_t watch(int fd, short events, nfds_t *n)
{
    watched[*n].fd = fd;
    watched[*n].events = events;
    watched[*n].revents = 0;
    return (*n)++;
}

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags == -1)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Milliseconds on a clock that no change of the date can move. */
static long long now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Is stdout writable now? (A zero timeout: poll() only looks.) */
static int stdout_writable(void)
{
    struct pollfd out = {STDOUT_FILENO, POLLOUT, 0};

    return poll(&out, 1, 0) == 1 && (out.revents & POLLOUT);
}

/*
 * A write() to a stdout that nobody reads (a stalled `| less`) would sleep
 * with the stop signals blocked: the server could never stop. So a line is
 * written only when stdout is writable now, and is otherwise dropped and
 * counted; the count goes out with the next line that is written. Linux
 * calls a pipe writable once a page is free, and a write() of at most
 * PIPE_BUF bytes then goes in whole, at once.
 */
__attribute__((format(printf, 1, 2)))
static void log_line(const char *fmt, ...)
{
    char line[2 * ADDR_STRLEN + 64];
    size_t len = 0;
    va_list ap;
    int n;

    if (!stdout_writable()) {
        log_dropped++;
        return;
    }
    if (log_dropped > 0) {
        n = snprintf(line, sizeof line,
                     "%s: %lu log lines dropped: stdout was not read\n",
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

static void unlink_idle(struct client *c)
{
    *(c->older ? &c->older->newer : &oldest) = c->newer;
    *(c->newer ? &c->newer->older : &newest) = c->older;
}

static void append_idle(struct client *c)
{
    c->older = newest;
    c->newer = NULL;
    *(newest ? &newest->newer : &oldest) = c;
    newest = c;
}

/* Activity: to the end of the list, in O(1). */
static void touch(struct client *c)
{
    c->last_active = now_ms();
    if (c != newest) {
        unlink_idle(c);
        append_idle(c);
    }
}

static void close_client(int fd)
{
    log_line("%s disconnected\n", clients[fd]->addr);
    unlink_idle(clients[fd]);
    free(clients[fd]);
    clients[fd] = NULL;
    close(fd);
    while (fd_end > 0 && clients[fd_end - 1] == NULL)
        fd_end--;
}

/* Accepts every client waiting in the listen queue. -1 when the queue could
 * not be emptied (out of descriptors): the caller leaves it alone a while. */
static int accept_waiting(int listen_fd)
{
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t peer_len;
        char addr[ADDR_STRLEN];
        struct client *c;
        int fd = accept_client(listen_fd, &peer, &peer_len);

        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;           /* nobody else is waiting */
            /* accept_client() has logged EMFILE (and refused a client if
             * it could); anything else (ENOBUFS, ...) is said here. */
            if (errno != EMFILE)
                warn_errno("accept");
            return -1;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        /* Only if the limit was raised after main() read it. */
        if (fd >= fd_limit) {
            close(fd);
            warn_msg("refusing %s: descriptor %d >= %d", addr, fd, fd_limit);
            continue;
        }
        if (set_nonblocking(fd) == -1 || (c = malloc(sizeof *c)) == NULL) {
            warn_errno("refusing %s", addr);
            close(fd);
            continue;
        }
        memcpy(c->addr, addr, sizeof c->addr);
        c->eof = 0;
        c->out_start = c->out_end = 0;
        c->fd = fd;
        c->last_active = now_ms();
        append_idle(c);
        clients[fd] = c;
        if (fd >= fd_end)
            fd_end = fd + 1;
        log_line("%s connected\n", addr);
    }
}

/* Sends what the socket takes now; the rest waits for the next turn. */
static void flush_client(int fd)
{
    struct client *c = clients[fd];

    while (c->out_start < c->out_end) {
        ssize_t n = write(fd, c->out + c->out_start, c->out_end - c->out_start);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;             /* full: poll() says when there is room */
            warn_errno("write %s", c->addr);   /* EPIPE, ECONNRESET */
            close_client(fd);
            return;
        }
        c->out_start += (size_t)n;
        touch(c);
    }
    c->out_start = c->out_end = 0;
    if (c->eof)
        close_client(fd);           /* all echoed: now we close our side */
}

/* One read() per turn, so that a fast client cannot starve the others, and
 * only into an empty buffer (main() watches the client only then). */
static void read_client(int fd)
{
    struct client *c = clients[fd];
    ssize_t n;

    do
        n = read(fd, c->out, sizeof c->out);
    while (n == -1 && errno == EINTR);
    if (n == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;                 /* the data went away: nothing to do */
        warn_errno("read %s", c->addr);        /* ECONNRESET: a reset */
        close_client(fd);
        return;
    }
    touch(c);
    c->eof = n == 0;                /* no more input: echo the rest, close */
    c->out_start = 0;
    c->out_end = (size_t)n;
    flush_client(fd);
}

/*
 * pselect() had a mask to unblock the stop signals only while it slept.
 * poll() has none (ppoll() does, but macOS lacks it), so the signals stay
 * blocked all the time, poll() sleeps at most STOP_CHECK_MS, and every turn
 * the loop asks whether a stop signal is waiting: under load, as in lesson
 * 05, and now also when idle.
 */
#define STOP_CHECK_MS 100

/* Closes the clients idle too long, from the head of the list; returns
 * the ms until the next one expires (at most STOP_CHECK_MS). */
static int expire_idle(void)
{
    long long now = now_ms();

    while (idle_ms > 0 && oldest != NULL) {
        long long left = oldest->last_active + idle_ms - now;

        if (left > 0)
            return left < STOP_CHECK_MS ? (int)left : STOP_CHECK_MS;
        log_line("%s idle for %lld ms: closing\n", oldest->addr, now - oldest->last_active);
        close_client(oldest->fd);
    }
    return STOP_CHECK_MS;
}

static long long parse_seconds(const char *s)
{
    char *end;
    double secs;

    errno = 0;
    secs = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(secs >= 0.001 && secs <= 86400))
        usage_error(usage, "invalid timeout '%s': expected 0.001 to 86400 seconds", s);
    return (long long)(secs * 1000);
}

static int stop_signal_pending(void)
{
    sigset_t pending;

    return sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    sigset_t stop_signals;
    long long accept_paused_until = 0;
    int listen_fd, status = 0;

    set_progname(argv[0]);
    if (argc > 2 && strcmp(argv[1], "-t") == 0 && !wants_help(argc, argv)) {
        idle_ms = parse_seconds(argv[2]);
        argv[2] = argv[0];
        argc -= 2;
        argv += 2;
    }
    server_args(argc, argv, usage, &port, &host);
    catch_stop_signals();

    /* SIGINT and SIGTERM stay blocked: stop_signal_pending() finds them. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &stop_signals, NULL) == -1)
        die_errno("sigprocmask");

    /* Room for every descriptor the process may hold: no FD_SETSIZE. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == -1)
        die_errno("getrlimit RLIMIT_NOFILE");
    fd_limit = nofile.rlim_cur == RLIM_INFINITY || nofile.rlim_cur > INT_MAX / 2
                   ? INT_MAX / 2 : (int)nofile.rlim_cur;
    clients = calloc((size_t)fd_limit, sizeof *clients);
    watched = calloc((size_t)fd_limit + 1, sizeof *watched);
    if (clients == NULL || watched == NULL)
        die_errno("calloc %d clients", fd_limit);

    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;
    /* A client that resets between poll() and accept() leaves nothing to
     * accept: a blocking accept() would then wait for the next client. */
    if (set_nonblocking(listen_fd) == -1) {
        warn_errno("fcntl O_NONBLOCK");
        close(listen_fd);
        return 1;
    }
    log_line("listening on %s\n", local_addr(listen_fd, addr));

    while (!stop_requested && !stop_signal_pending()) {
        nfds_t n = 0, listener = 0;
        int wait_ms = expire_idle();
        long long pause_ms = accept_paused_until - now_ms();

        /* The array says what to watch; poll() answers in revents. It is
         * rebuilt every turn, as the sets were (updating it is possible). */
        if (pause_ms <= 0)
            listener = watch(listen_fd, POLLIN, &n) + 1;
        for (int fd = 0; fd < fd_end; fd++) {
            if (clients[fd] == NULL)
                continue;
            /* Back-pressure: read only once the last read is all echoed. */
            if (clients[fd]->out_start < clients[fd]->out_end)
                watch(fd, POLLOUT, &n);
            else if (!clients[fd]->eof)
                watch(fd, POLLIN, &n);
        }

        if (poll(watched, n, pause_ms > 0 && pause_ms < wait_ms
                                 ? (int)pause_ms : wait_ms) == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("poll");
            status = 1;
            break;
        }

        /* New clients get descriptors that were not in the array. POLLHUP
         * and POLLERR come even unasked: read() or write() then says why. */
        if (listener && watched[0].revents != 0 && accept_waiting(listen_fd) == -1)
            accept_paused_until = now_ms() + ACCEPT_PAUSE_MS;
        for (nfds_t i = listener ? 1 : 0; i < n; i++) {
            int fd = watched[i].fd;

            if (watched[i].revents == 0 || clients[fd] == NULL)
                continue;
            if (watched[i].events == POLLIN)
                read_client(fd);
            else
                flush_client(fd);
        }
    }

    for (int fd = 0; fd < fd_end; fd++)
        if (clients[fd] != NULL)
            close_client(fd);
    close(listen_fd);
    free(clients);
    free(watched);
    if (log_dropped > 0)
        warn_msg("%lu log lines dropped: stdout was not read", log_dropped);
    return status;
}

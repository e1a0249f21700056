/*
 * Lesson 08 server-et: the epoll server, edge-triggered. Linux only.
 *
 *     usage: server-et [-t IDLE_SECONDS] [-b READS] [-n] PORT [ADDRESS]
 *
 * Level-triggered epoll (lesson08/server) returns a descriptor every turn
 * while it is ready. With EPOLLET it returns it once when it becomes ready
 * (new bytes, new room), and not again until the next change. What that
 * changes from server.c (diff the two):
 *
 *   - Interest is told once, at accept, for reading and writing: no
 *     epoll_ctl() when a client moves between the two. The server itself
 *     remembers what each client can do (can_read, can_write) until a
 *     read() or write() says EAGAIN.
 *   - So it must drain: read until EAGAIN, or the bytes left in the socket
 *     wait for an edge that never comes. -n reads once per event, the
 *     classic bug, to see it happen.
 *   - Draining one busy client can take for ever while the others wait:
 *     each gets at most READS reads a turn (-b, default 16), and one with
 *     bytes left goes on a ready list served next turn, since no edge
 *     will say so. -b 0 means no budget: the starvation trap.
 */
#define _POSIX_C_SOURCE 200809L

#ifndef __linux__
#error "epoll is Linux-only: on this system build lesson08/server-poll"
#endif

#include "socklab.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "[-t IDLE_SECONDS] [-b READS] [-n] PORT [ADDRESS]";

#define BUF_SIZE 4096       /* bytes read from a client at once */
#define MAX_EVENTS 256      /* ready descriptors taken per epoll_wait() */

struct client {
    int fd;
    int eof;                    /* it has closed its side: flush, then close */
    int can_read, can_write;    /* since the last edge, until EAGAIN */
    int queued;                 /* on the ready list */
    struct client *prev_ready, *next_ready;
    long long last_active;      /* ms, now_ms() */
    struct client *older, *newer;  /* the idle list */
    char addr[ADDR_STRLEN];
    size_t out_start, out_end;  /* bytes not sent yet: out[out_start..out_end) */
    char out[BUF_SIZE];
};

static int epfd;
static long long idle_ms;               /* 0: clients may idle for ever */
static struct client *oldest, *newest;  /* idle list: least recently active first */
static struct client listener;          /* its address marks the listener's events */
static unsigned long log_dropped;
static int budget = 16;                 /* reads per client per turn; 0: no limit */
static int one_read;                    /* -n: the bug, one read per event */
static struct client *ready_head, *ready_tail;  /* bytes left after the budget */

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags == -1)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static long long now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The log never blocks: lesson 05's log_line(), explained there. */
__attribute__((format(printf, 1, 2)))
static void log_line(const char *fmt, ...)
{
    char line[2 * ADDR_STRLEN + 64];
    struct pollfd out = {STDOUT_FILENO, POLLOUT, 0};
    size_t len = 0;
    va_list ap;

    if (poll(&out, 1, 0) != 1 || !(out.revents & POLLOUT)) {
        log_dropped++;
        return;
    }
    if (log_dropped > 0)
        len = (size_t)snprintf(line, sizeof line,
                               "%s: %lu log lines dropped: stdout was not read\n",
                               progname(), log_dropped);
    va_start(ap, fmt);
    len += (size_t)vsnprintf(line + len, sizeof line - len, fmt, ap);
    va_end(ap);
    if (len >= sizeof line)
        len = sizeof line - 1;
    _Static_assert(sizeof line <= _POSIX_PIPE_BUF, "a log line must go into a pipe whole");
    if (write(STDOUT_FILENO, line, len) == (ssize_t)len)
        log_dropped = 0;
    else
        log_dropped++;
}

static void unlink_idle(struct client *c)
{
    *(c->older ? &c->older->newer : &oldest) = c->newer;
    *(c->newer ? &c->newer->older : &newest) = c->older;
}

/* The client did something: to the end of the idle list, in O(1). */
static void touch(struct client *c)
{
    c->last_active = now_ms();
    if (c == newest)
        return;
    unlink_idle(c);
    c->older = newest;
    c->newer = NULL;
    *(newest ? &newest->newer : &oldest) = c;
    newest = c;
}

static void enqueue(struct client *c)
{
    c->queued = 1;
    c->next_ready = NULL;
    c->prev_ready = ready_tail;
    *(ready_tail ? &ready_tail->next_ready : &ready_head) = c;
    ready_tail = c;
}

static void dequeue(struct client *c)
{
    c->queued = 0;
    *(c->prev_ready ? &c->prev_ready->next_ready : &ready_head) = c->next_ready;
    *(c->next_ready ? &c->next_ready->prev_ready : &ready_tail) = c->prev_ready;
}

static void close_client(struct client *c)
{
    log_line("%s disconnected\n", c->addr);
    unlink_idle(c);
    if (c->queued)
        dequeue(c);
    close(c->fd);               /* which also takes it out of the epoll set */
    free(c);
}

/* Accepts every client waiting; -1 when out of descriptors. */
static int accept_waiting(int listen_fd)
{
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t peer_len;
        struct client *c;
        int fd = accept_client(listen_fd, &peer, &peer_len);

        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno != EMFILE)
                warn_errno("accept");
            return -1;
        }
        if ((c = malloc(sizeof *c)) == NULL) {
            warn_errno("malloc");
            close(fd);
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, c->addr);
        c->fd = fd;
        c->eof = 0;
        c->can_read = c->can_write = 0;
        c->queued = 0;
        c->out_start = c->out_end = 0;
        /* Once, for good: both directions, edge-triggered. */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.ptr = c};
        if (set_nonblocking(fd) == -1 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
            warn_errno("refusing %s", c->addr);
            close(fd);
            free(c);
            continue;
        }
        c->older = newest;
        c->newer = NULL;
        *(newest ? &newest->newer : &oldest) = c;
        newest = c;
        c->last_active = now_ms();
        log_line("%s connected\n", c->addr);
    }
}

/* Sends what the socket takes now. 0: all sent; 1: the rest waits for
 * the next EPOLLOUT edge; -1: the client is closed. */
static int flush_client(struct client *c)
{
    while (c->out_start < c->out_end) {
        ssize_t n = write(c->fd, c->out + c->out_start, c->out_end - c->out_start);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->can_write = 0;
                return 1;
            }
            warn_errno("write %s", c->addr);
            close_client(c);
            return -1;
        }
        c->out_start += (size_t)n;
        touch(c);
    }
    c->out_start = c->out_end = 0;
    return 0;
}

/* Echoes until a read() or write() says EAGAIN (drained: the next edge
 * will come), or the budget is spent (then the ready list remembers). */
static void serve(struct client *c)
{
    for (int reads = 0;;) {
        ssize_t n;

        if (c->out_start < c->out_end && (!c->can_write || flush_client(c) != 0))
            return;                 /* back-pressure, or closed */
        if (c->eof) {
            close_client(c);        /* all echoed: now we close our side */
            return;
        }
        if (!c->can_read || (one_read && reads == 1))
            return;
        if (budget > 0 && reads == budget) {
            if (!c->queued)
                enqueue(c);
            return;
        }
        do
            n = read(c->fd, c->out, sizeof c->out);
        while (n == -1 && errno == EINTR);
        reads++;
        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->can_read = 0;    /* drained */
                return;
            }
            warn_errno("read %s", c->addr);
            close_client(c);
            return;
        }
        touch(c);
        c->eof = n == 0;
        c->out_start = 0;
        c->out_end = (size_t)n;
    }
}

/* Closes the clients idle for idle_ms; returns ms until the next expires. */
static int expire_idle(void)
{
    long long now = now_ms();

    while (idle_ms > 0 && oldest != NULL) {
        long long left = oldest->last_active + idle_ms - now;

        if (left > 0)
            return left > INT_MAX ? INT_MAX : (int)left;
        if (oldest->queued) {       /* bytes waiting: not idle */
            touch(oldest);
            continue;
        }
        log_line("%s idle for %lld ms: closing\n", oldest->addr, now - oldest->last_active);
        close_client(oldest);
    }
    return -1;
}

/* epoll_pwait() has pselect()'s trap: with descriptors ready it returns
 * them and leaves a pending stop signal blocked, undelivered. */
static int stop_signal_pending(void)
{
    sigset_t pending;

    return sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

/* Each client is a descriptor: the soft limit (often 1024) goes up to the
 * hard limit, which only root may raise. Below ten thousand, says so. */
static void raise_fd_limit(void)
{
    struct rlimit lim;

    if (getrlimit(RLIMIT_NOFILE, &lim) == -1)
        die_errno("getrlimit RLIMIT_NOFILE");
    if (lim.rlim_cur != lim.rlim_max) {
        rlim_t soft = lim.rlim_cur;

        lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) == -1) {
            warn_errno("setrlimit RLIMIT_NOFILE %llu", (unsigned long long)lim.rlim_max);
            lim.rlim_cur = soft;
        }
    }
    if (lim.rlim_cur < 10000 + 16)
        warn_msg("descriptor limit %llu (hard limit %llu): fewer than 10000 clients fit",
                 (unsigned long long)lim.rlim_cur, (unsigned long long)lim.rlim_max);
}

static int parse_reads(const char *s)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < 0 || n > 1000000)
        usage_error(usage, "invalid budget '%s': expected 0 to 1000000 reads", s);
    return (int)n;
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

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    struct epoll_event events[MAX_EVENTS];
    sigset_t stop_signals, wait_mask;
    long long accept_paused_until = 0;
    int listen_fd, argi, status = 0;

    set_progname(argv[0]);
    /* Options come first; "-1" is a (bad) port, not an option. */
    for (argi = 1; !wants_help(argc, argv) && argi < argc &&
                     argv[argi][0] == '-' && isalpha((unsigned char)argv[argi][1]);
         argi++) {
        if (strcmp(argv[argi], "-t") == 0 && argi + 1 < argc)
            idle_ms = parse_seconds(argv[++argi]);
        else if (strcmp(argv[argi], "-b") == 0 && argi + 1 < argc)
            budget = parse_reads(argv[++argi]);
        else if (strcmp(argv[argi], "-n") == 0)
            one_read = 1;
        else
            usage_error(usage, "unknown option '%s'", argv[argi]);
    }
    argv[argi - 1] = argv[0];
    server_args(argc - argi + 1, argv + argi - 1, usage, &port, &host);
    catch_stop_signals();

    /* As in lesson 05: blocked except inside epoll_pwait(). */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &stop_signals, &wait_mask) == -1)
        die_errno("sigprocmask");
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGTERM);

    raise_fd_limit();
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
        die_errno("epoll_create1");
    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener};
    if (set_nonblocking(listen_fd) == -1 ||
        epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev) == -1) {
        warn_errno("listener");
        close(listen_fd);
        return 1;
    }
    log_line("listening on %s\n", local_addr(listen_fd, addr));

    while (!stop_requested && !stop_signal_pending()) {
        int timeout = expire_idle(), n;

        if (accept_paused_until != 0) {
            long long left = accept_paused_until - now_ms();

            if (left <= 0) {        /* the pause is over: watch it again */
                ev.events = EPOLLIN;
                epoll_ctl(epfd, EPOLL_CTL_MOD, listen_fd, &ev);
                accept_paused_until = 0;
            } else if (timeout == -1 || left < timeout) {
                timeout = (int)left;
            }
        }

        /* With clients on the ready list, only a look: no sleeping. */
        n = epoll_pwait(epfd, events, MAX_EVENTS, ready_head ? 0 : timeout, &wait_mask);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("epoll_pwait");
            status = 1;
            break;
        }
        /* Only ready descriptors come back: nothing to scan. A client is
         * closed only while its own event is handled, and a descriptor
         * comes once per array: no event here meets a freed client. */
        for (int i = 0; i < n; i++) {
            struct client *c = events[i].data.ptr;

            if (c == &listener) {
                if (accept_waiting(listen_fd) == -1) {
                    ev.events = 0;  /* out of descriptors: a pause */
                    epoll_ctl(epfd, EPOLL_CTL_MOD, listen_fd, &ev);
                    accept_paused_until = now_ms() + ACCEPT_PAUSE_MS;
                }
            } else {
                /* An edge: what the descriptor can do now. HUP and ERR
                 * make both calls fail, and say why. */
                if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    c->can_read = 1;
                if (events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
                    c->can_write = 1;
                serve(c);
            }
        }
        /* Those left over from the last turn, each once; serve() may put
         * one back at the end (a new list) or close it. */
        struct client *c = ready_head, *next;
        ready_head = ready_tail = NULL;
        for (; c != NULL; c = next) {
            next = c->next_ready;
            c->queued = 0;
            serve(c);
        }
    }

    while (oldest != NULL)
        close_client(oldest);
    close(listen_fd);
    close(epfd);
    if (log_dropped > 0)
        warn_msg("%lu log lines dropped: stdout was not read", log_dropped);
    return status;
}

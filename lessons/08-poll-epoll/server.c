/*
 * Lesson 08 server: lesson 05's echo server on epoll, for ten thousand
 * clients and more. Linux only (server-poll builds everywhere).
 *
 *     usage: server [-t IDLE_SECONDS] PORT [ADDRESS]
 *
 * select() and poll() hand the kernel the whole list of descriptors every
 * turn, and the kernel walks all of it: the cost of a turn grows with the
 * clients held, busy or idle. An epoll instance keeps the list in the
 * kernel: epoll_ctl() changes it one descriptor at a time, and
 * epoll_wait() returns only the descriptors that are ready. What changes
 * from lesson 05 besides:
 *
 *   - Interest is told once and changed only when it changes: EPOLLOUT
 *     while a client's echo is pending (back-pressure: not EPOLLIN then),
 *     EPOLLIN and EPOLLRDHUP otherwise. Level-triggered: a descriptor that
 *     stays ready is returned again every turn, as select() would.
 *   - Clients idle for IDLE_SECONDS are closed. Every client has the same
 *     timeout, so a list in order of last activity (a client that does
 *     something moves to its end) keeps the next to expire at its head:
 *     O(1) per event, whatever the number of clients.
 *   - The soft limit on descriptors is raised to the hard limit.
 *
 * The protocol and the log lines are lesson 02's, so lesson 02's client
 * works unchanged.
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

static const char usage[] = "[-t IDLE_SECONDS] PORT [ADDRESS]";

#define BUF_SIZE 4096       /* bytes read from a client at once */
#define MAX_EVENTS 256      /* ready descriptors taken per epoll_wait() */

struct client {
    int fd;
    int eof;                    /* it has closed its side: flush, then close */
    uint32_t events;            /* what the epoll instance watches for it */
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

static void close_client(struct client *c)
{
    log_line("%s disconnected\n", c->addr);
    unlink_idle(c);
    close(c->fd);               /* which also takes it out of the epoll set */
    free(c);
}

/* Tells the epoll instance what to watch, if that changed: a system call
 * only when the client moves between reading and writing. */
static int watch(struct client *c)
{
    uint32_t events = c->out_start < c->out_end ? EPOLLOUT : EPOLLIN | EPOLLRDHUP;
    struct epoll_event ev = {.events = events, .data.ptr = c};

    if (events == c->events)
        return 0;
    c->events = events;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
        warn_errno("epoll_ctl %s", c->addr);
        close_client(c);
        return -1;
    }
    return 0;
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
        c->events = EPOLLIN | EPOLLRDHUP;
        c->out_start = c->out_end = 0;
        struct epoll_event ev = {.events = c->events, .data.ptr = c};
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

/* Sends what the socket takes now; the rest waits for EPOLLOUT. */
static void flush_client(struct client *c)
{
    while (c->out_start < c->out_end) {
        ssize_t n = write(c->fd, c->out + c->out_start, c->out_end - c->out_start);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            warn_errno("write %s", c->addr);
            close_client(c);
            return;
        }
        c->out_start += (size_t)n;
        touch(c);
    }
    if (c->out_start == c->out_end) {
        c->out_start = c->out_end = 0;
        if (c->eof) {
            close_client(c);
            return;
        }
    }
    watch(c);
}

/* One read() per turn, into an empty buffer. EPOLLRDHUP (the client has
 * shut its side) with a short read means that was the last of its bytes:
 * no second read() to learn it. */
static void read_client(struct client *c, uint32_t events)
{
    ssize_t n;

    do
        n = read(c->fd, c->out, sizeof c->out);
    while (n == -1 && errno == EINTR);
    if (n == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        warn_errno("read %s", c->addr);
        close_client(c);
        return;
    }
    touch(c);
    c->eof = n == 0 || ((events & EPOLLRDHUP) && (size_t)n < sizeof c->out);
    c->out_start = 0;
    c->out_end = (size_t)n;
    flush_client(c);
}

/* Closes the clients idle for idle_ms; returns ms until the next expires. */
static int expire_idle(void)
{
    long long now = now_ms();

    while (idle_ms > 0 && oldest != NULL) {
        long long left = oldest->last_active + idle_ms - now;

        if (left > 0)
            return left > INT_MAX ? INT_MAX : (int)left;
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

        n = epoll_pwait(epfd, events, MAX_EVENTS, timeout, &wait_mask);
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
            } else if (c->events & EPOLLIN) {
                read_client(c, events[i].events);
            } else {
                flush_client(c);
            }
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

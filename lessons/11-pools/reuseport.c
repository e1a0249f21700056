/*
 * Lesson 11 reuseport: prefork.c with one listening socket per child.
 *
 *     usage: reuseport [-n CHILDREN] PORT [ADDRESS]
 *
 * prefork.c's children share one listener and its one queue. Here the
 * parent opens CHILDREN listeners on the same port, each with SO_REUSEPORT
 * set before bind(), and child i accepts on listener i only. The kernel
 * (Linux 3.9 and later) spreads new connections over the listeners by a
 * hash of their addresses and ports: no shared queue, no shared lock. The
 * price: a connection hashed to a busy child waits for that child, even
 * while another child sits idle.
 *
 * The parent keeps its copy of every listener. When the last descriptor of
 * a listener closes, Linux resets the connections still queued on it; the
 * parent's copy keeps the queue of a child that died alive until its
 * replacement, which inherits the same listener, accepts them.
 *
 * A second copy of this program, run by the same user on the same port,
 * joins the group and takes a share of the connections: SO_REUSEPORT
 * trusts the user. Where the system has no SO_REUSEPORT it says so and
 * exits 1. (FreeBSD's SO_REUSEPORT does not spread connections; its
 * SO_REUSEPORT_LB does.)
 *
 * SIGINT or SIGTERM to the parent stops every child, then the parent exits 0.
 */
#define _DEFAULT_SOURCE             /* glibc and musl: SO_REUSEPORT, which POSIX lacks */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_REUSEPORT
#define SO_REUSEPORT (-1)           /* none: main() stops before it is used */
#endif

static const char usage[] = "[-n CHILDREN] PORT [ADDRESS]";

#define MAX_CHILDREN 256

static pid_t children[MAX_CHILDREN];   /* 0: a free slot */
static int listeners[MAX_CHILDREN];    /* child i accepts on listeners[i] */
static int nchildren = 4;
static sigset_t run_mask;              /* the signal mask main() began with */

/* Lesson 02's echo(): a session ends on EOF, an error, or a stop signal. */
static void echo(int fd, const char *peer)
{
    char buf[4096];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);

        if (n == 0)
            return;
        if (n == -1) {
            if (errno == EINTR && !stop_requested)
                continue;
            if (errno != EINTR)
                warn_errno("read %s", peer);
            return;
        }
        if (write_all(fd, buf, (size_t)n, &stop_requested) == -1) {
            if (errno != EINTR)
                warn_errno("write %s", peer);
            return;
        }
    }
}

/*
 * One log line in one write(2). Many processes share this stdout: a line
 * written whole cannot be cut by another's, and with stdout on a pipe
 * nobody reads, a stop signal cuts the write short (the line is lost).
 */
static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
    char line[ADDR_STRLEN + 64];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 1)
        return;
    line[n++] = '\n';
    if (write(STDOUT_FILENO, line, (size_t)n) == -1)
        return;                     /* a stop signal, or no log left */
}

/* A child's whole life: accept, echo, close, until a stop signal. */
static _Noreturn void child(int listen_fd)
{
    /* The parent's blocked signals came with fork(): a child sleeps in
     * accept(), and must be woken by a stop signal there. */
    sigprocmask(SIG_SETMASK, &run_mask, NULL);
    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t peer_len;
        char addr[ADDR_STRLEN];
        /* Each child has its own reserve descriptor for EMFILE. */
        int conn_fd = accept_client(listen_fd, &peer, &peer_len);

        if (conn_fd == -1) {
            if (errno != EINTR && errno != EMFILE)
                warn_errno("accept");
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        log_line("%s connected", addr);
        echo(conn_fd, addr);
        close(conn_fd);
        log_line("%s disconnected", addr);
    }
    close(listen_fd);
    exit(0);
}

/*
 * One listener of the group on host:port: tcp_listen() with SO_REUSEPORT
 * set before bind(). Every socket of the group must set it, the first too.
 */
static int reuseport_listen(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *list;
    char addr[ADDR_STRLEN];
    int fd = -1, rc, on = 1;

    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        warn_msg("getaddrinfo %s: %s", host, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (const struct addrinfo *ai = list; ai != NULL && fd == -1; ai = ai->ai_next) {
        const char *call = "socket";

        format_addr(ai->ai_addr, ai->ai_addrlen, addr);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd != -1 &&
            ((call = "setsockopt SO_REUSEADDR",
              setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1) ||
             (call = "setsockopt SO_REUSEPORT",
              setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) == -1) ||
             (call = "bind", bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) ||
             (call = "listen", listen(fd, SOMAXCONN) == -1))) {
            close(fd);
            fd = -1;
        }
        if (fd == -1)
            warn_errno("%s %s", call, addr);
    }
    freeaddrinfo(list);
    return fd;
}

/* SIGCHLD's handler does nothing: by default SIGCHLD is discarded, and a
 * discarded signal cannot wake pselect(); a handled one does. waitpid()
 * does the reaping. */
static void on_child(int sig)
{
    (void)sig;
}

/* Fills every free slot with a new child; false if fork() failed. */
static int start_children(void)
{
    for (int i = 0; i < nchildren; i++) {
        if (children[i] != 0)
            continue;
        children[i] = fork();
        if (children[i] == 0) {
            for (int j = 0; j < nchildren; j++)     /* the others' are not its own */
                if (j != i)
                    close(listeners[j]);
            child(listeners[i]);
        }
        if (children[i] == -1) {    /* EAGAIN: out of processes */
            children[i] = 0;
            warn_errno("fork");
            return 0;
        }
        log_line("child %ld started", (long)children[i]);
    }
    return 1;
}

/* Frees the slot of a child that died, and says how it died. */
static void child_died(pid_t pid, int status, int logged)
{
    for (int i = 0; i < nchildren; i++)
        if (children[i] == pid)
            children[i] = 0;
    if (!logged)
        return;
    if (WIFSIGNALED(status))
        log_line("child %ld killed by signal %d (%s)", (long)pid, WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        log_line("child %ld exited with status %d", (long)pid, WEXITSTATUS(status));
}

/*
 * Asks every child to stop and reaps them. A signal that lands just before
 * a child enters accept() is missed (see common/signals.c), so it is sent
 * again every 10 ms; a child still there after half a second is killed.
 */
static void stop_children(void)
{
    for (int ms = 0;; ms += 10) {
        int alive = 0, status;
        pid_t pid;

        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            child_died(pid, status, 0);
        for (int i = 0; i < nchildren; i++)
            if (children[i] != 0) {
                kill(children[i], ms < 500 ? SIGTERM : SIGKILL);
                alive = 1;
            }
        if (!alive)
            return;
        poll(NULL, 0, 10);
    }
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN], bound[ADDR_STRLEN];
    int opt;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    opterr = 0;
    while ((opt = getopt(argc, argv, "n:")) != -1) {
        char *end;

        if (opt == 'n') {
            long n = strtol(optarg, &end, 10);

            if (*optarg == '\0' || *end != '\0' || n < 1 || n > MAX_CHILDREN)
                usage_error(usage, "invalid -n '%s': expected 1 to %d", optarg, MAX_CHILDREN);
            nchildren = (int)n;
        } else if (optopt >= '0' && optopt <= '9') {    /* "-1": a port, not a flag */
            usage_error(usage, "invalid port '%s': expected a decimal number from 0 to 65535",
                        argv[optind - 1]);
        } else {
            usage_error(usage, "unknown option '-%c'", optopt);
        }
    }
    /* The operands, as if they were the whole command line. */
    server_args(argc - optind + 1, argv + optind - 1, usage, &port, &host);
    if (SO_REUSEPORT == -1) {
        warn_msg("this system has no SO_REUSEPORT: see prefork");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();           /* the children inherit the handlers */

    /* The first listener may take port 0; the others take the port it got. */
    for (int i = 0; i < nchildren; i++) {
        listeners[i] = reuseport_listen(host, port);
        if (listeners[i] == -1)
            return 1;
        if (i == 0)
            port = strrchr(local_addr(listeners[0], bound), ':') + 1;
    }
    printf("listening on %s\n", local_addr(listeners[0], addr));

    /*
     * The parent sleeps until a child dies or a stop signal comes. As in
     * lesson 05, those signals stay blocked while it works, and pselect()
     * lets them in only while it sleeps: one that comes just before the
     * sleep is not missed, it wakes pselect() at once.
     */
    struct sigaction sa = {.sa_handler = on_child};
    sigset_t blocked;

    sigemptyset(&sa.sa_mask);
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGCHLD);
    if (sigaction(SIGCHLD, &sa, NULL) == -1)
        die_errno("sigaction");
    if (sigprocmask(SIG_BLOCK, &blocked, &run_mask) == -1)
        die_errno("sigprocmask");
    while (!stop_requested) {
        struct timespec retry = {1, 0};   /* a failed fork: again in a second */
        struct timespec *timeout = start_children() ? NULL : &retry;
        int status;
        pid_t pid;

        if (pselect(0, NULL, NULL, NULL, timeout, &run_mask) == -1 && errno != EINTR)
            die_errno("pselect");
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            child_died(pid, status, !stop_requested);
    }

    /* Connections still queued on a listener are reset when it closes. */
    stop_children();
    for (int i = 0; i < nchildren; i++)
        close(listeners[i]);
    return 0;
}

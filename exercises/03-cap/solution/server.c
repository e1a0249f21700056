/*
 * Exercise 03-cap, reference solution: the fork-per-client echo server with
 * a limit on the number of clients it serves at once.
 *
 *     usage: server [-n MAX] PORT [ADDRESS]
 *
 * Lesson 03's server forks for every client who knocks, so a crowd of
 * clients (or one program opening connections in a loop) can fill the
 * user's process table. Here the parent counts its children: while MAX of
 * them are serving (32 unless -n says otherwise), a new client gets one
 * line, "server busy, try again later", and is closed at once.
 *
 * The count goes up in main() when a child is forked and down in the
 * SIGCHLD handler when a child is reaped: a slot is free again only once
 * its child has exited, however long the client took to leave. Two things
 * keep the count from drifting over thousands of clients:
 *   - the handler loops over waitpid() and counts every child it reaps: one
 *     SIGCHLD may stand for several children;
 *   - the counter is a lock-free atomic, changed with atomic_fetch_add()
 *     and atomic_fetch_sub(). A plain "children++" is a load, an add and a
 *     store: a SIGCHLD between the load and the store would have its
 *     decrement overwritten, and that slot would be lost for good.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] = "[-n MAX] PORT [ADDRESS]";

/*
 * 32 children cost a few MiB of memory and leave most of a typical
 * ulimit -u for everything else the user runs. -n goes up to MAX_LIMIT:
 * beyond that, the process limit or memory runs out before the cap matters.
 */
#define DEFAULT_MAX 32
#define MAX_LIMIT 10000

static const char busy_reply[] = "server busy, try again later\n";

/* Children alive or not yet reaped: main() adds, the SIGCHLD handler takes. */
static atomic_int children = 0;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler may change only a lock-free atomic");

/*
 * Echoes until the client closes. Whatever goes wrong ends this client's
 * session only: the caller goes back to accept() for the next one.
 */
static void echo(int fd, const char *peer)
{
    char buf[4096];

    for (;;) {
        /* Whatever has arrived, up to a buffer: not a line, not a message. */
        ssize_t n = read(fd, buf, sizeof buf);

        if (n == 0)
            return;                 /* end of file: the client closed */
        if (n == -1) {
            if (errno == EINTR && !stop_requested)
                continue;
            if (errno != EINTR)
                warn_errno("read %s", peer);   /* ECONNRESET: a reset */
            return;
        }
        if (write_all(fd, buf, (size_t)n, &stop_requested) == -1) {
            if (errno != EINTR)
                warn_errno("write %s", peer);  /* EPIPE: the client left */
            return;
        }
    }
}

/*
 * A child that has exited stays a zombie until its parent waits for it.
 * Signals do not queue: one SIGCHLD may stand for several children, so
 * reap until none is left, and free one slot for each child reaped.
 * waitpid() may set errno, and the code this handler interrupted may be
 * about to read errno: keep it.
 */
static void reap_children(int sig)
{
    int saved_errno = errno;

    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        atomic_fetch_sub(&children, 1);
    errno = saved_errno;
}

static void catch_sigchld(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    /*
     * SA_RESTART: a child's exit is no reason to interrupt the parent, so
     * accept() and writes to the log carry on. (SIGINT and SIGTERM, which
     * must interrupt accept(), are installed without it.)
     */
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sa.sa_handler = reap_children;
    if (sigaction(SIGCHLD, &sa, NULL) == -1)
        die_errno("sigaction SIGCHLD");
}

/*
 * "-n 8": the whole string, digits only, 1 to MAX_LIMIT. strtol() would
 * take " 8", "+8" and "8x" without a word, and atoi() "abc" as 0.
 */
static int parse_max(const char *s)
{
    const char *p = s;
    long n = 0;

    /* Stops past MAX_LIMIT, long before n could overflow. */
    while (*p >= '0' && *p <= '9' && n <= MAX_LIMIT)
        n = n * 10 + (*p++ - '0');
    if (p == s || *p != '\0' || n < 1 || n > MAX_LIMIT)
        usage_error(usage, "invalid maximum '%s': expected a number from 1 to %d",
                    s, MAX_LIMIT);
    return (int)n;
}

/* Options first, then lesson 03's "PORT [ADDRESS]" with server_args(). */
static void parse_args(int argc, char *argv[], int *max,
                       const char **port, const char **host)
{
    int opt;

    if (wants_help(argc, argv)) {
        print_usage(usage);
        exit(0);
    }
    *max = DEFAULT_MAX;
    /* The leading ':' lets the messages below replace getopt()'s own. */
    while ((opt = getopt(argc, argv, ":n:")) != -1) {
        switch (opt) {
        case 'n':
            *max = parse_max(optarg);
            break;
        case ':':
            usage_error(usage, "option -%c needs a value", optopt);
        default:
            usage_error(usage, "unknown option '-%c'", optopt);
        }
    }
    /*
     * server_args() reads its operands from argv[1] on: hand it the rest of
     * the command line, with the word before it standing in for argv[0].
     */
    server_args(argc - optind + 1, argv + optind - 1, usage, port, host);
}

/*
 * One line and a close, from the parent. The write does not wait for the
 * client: a new connection's send buffer is empty, and the kernel takes
 * the line at once. A client that sent something first gets a reset
 * after the line rather than end of file (unread data makes close() send
 * RST); the line still reaches it.
 */
static void turn_away(int fd, const char *addr)
{
    if (write_all(fd, busy_reply, sizeof busy_reply - 1, &stop_requested) == -1)
        warn_errno("write %s", addr);
    close(fd);
    printf("%s turned away: busy\n", addr);
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    int listen_fd, max;

    set_progname(argv[0]);
    parse_args(argc, argv, &max, &port, &host);
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();
    catch_sigchld();

    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;
    printf("listening on %s\n", local_addr(listen_fd, addr));

    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int conn_fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_len);

        if (conn_fd == -1) {
            /*
             * Out of descriptors (EMFILE; ENFILE: the whole system): the
             * client stays queued, and accept() would fail again at once.
             * This process holds at most one connection at a time, so it
             * gets here only if something else is wrong (ulimit -n tiny,
             * the system's table full): it says so and pauses instead of
             * spinning. A stop signal cuts the pause short.
             */
            if (errno == EMFILE || errno == ENFILE) {
                warn_errno("accept (trying again in a second)");
                sleep(1);
            } else if (errno != EINTR) {
                warn_errno("accept");
            }
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        /*
         * Only this thread adds to the count, so it cannot grow between
         * this test and the fork; it can only shrink, which errs on the
         * safe side.
         */
        if (atomic_load(&children) >= max) {
            turn_away(conn_fd, addr);
            continue;
        }
        /* A whole line, and stdout is line-buffered: nothing left to copy. */
        printf("%s connected\n", addr);

        /*
         * Counted before fork(): a child can exit, and be reaped, before
         * fork() has even returned in the parent.
         */
        atomic_fetch_add(&children, 1);
        switch (fork()) {
        case -1:    /* EAGAIN: out of processes; turn this client away */
            atomic_fetch_sub(&children, 1);
            warn_errno("fork %s", addr);
            close(conn_fd);
            printf("%s disconnected\n", addr);
            break;
        case 0:     /* the child: serves this one client, then exits */
            close(listen_fd);
            echo(conn_fd, addr);
            close(conn_fd);
            printf("%s disconnected\n", addr);
            exit(0);
        default:    /* the parent: the child has the connection now */
            close(conn_fd);
            break;
        }
    }

    close(listen_fd);
    return 0;
}

/*
 * Lesson 03 server: the echo server with one process per client.
 *
 *     usage: server PORT [ADDRESS]
 *
 * The parent only accepts: for each client it forks a child, closes its
 * own copy of the connection and goes back to accept(). The child closes
 * the listening socket, serves its one client with lesson 02's echo(), and
 * leaves with _exit(). A SIGCHLD handler reaps the children, so none stays
 * a zombie. The log lines go out with one write() each, not through stdio
 * (see log_line()).
 *
 * SIGINT or SIGTERM to the parent stops it accepting, and it exits 0.
 * Children still serving carry on until their clients leave: a stop that
 * cuts nobody off. Ctrl-C in the terminal reaches the children too (the
 * whole foreground process group gets it), and they stop as well.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] = "PORT [ADDRESS]";

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
 * "ADDR connected" and the like, in one write(). Not printf(): after a
 * fork, parent and child share their pages, and each page either of them
 * then writes is copied, each page of code the child runs first costs it
 * a fault. printf() writes to several (stdout's FILE and buffer, the deep
 * stack of vfprintf) and runs much code: with a fork per connection that
 * was about a fifth of the server's CPU time. (write_all() gives up on a
 * stop signal, as printf() did: a log nobody reads must not keep the
 * server from stopping.)
 */
static void log_line(const char *addr, const char *what)
{
    char line[ADDR_STRLEN + 16];
    size_t a = strlen(addr), w = strlen(what);

    if (a + w + 2 > sizeof line)
        return;
    memcpy(line, addr, a);
    line[a] = ' ';
    memcpy(line + a + 1, what, w);
    line[a + 1 + w] = '\n';
    write_all(STDOUT_FILENO, line, a + w + 2, &stop_requested);
}

/*
 * A child that has exited stays a zombie until its parent waits for it.
 * Signals do not queue: one SIGCHLD may stand for several children, so
 * reap until none is left. waitpid() may set errno, and the code this
 * handler interrupted may be about to read errno: keep it.
 */
static void reap_children(int sig)
{
    int saved_errno = errno;

    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        continue;
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

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    int listen_fd;

    set_progname(argv[0]);
    server_args(argc, argv, usage, &port, &host);
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
        log_line(addr, "connected");

        switch (fork()) {
        case -1:    /* EAGAIN: out of processes; turn this client away */
            warn_errno("fork %s", addr);
            close(conn_fd);
            log_line(addr, "disconnected");
            break;
        case 0:     /* the child: serves this one client, then exits */
            close(listen_fd);
            echo(conn_fd, addr);
            close(conn_fd);
            log_line(addr, "disconnected");
            /* Not exit(): the exit handlers and stdio are the parent's. */
            _exit(0);
        default:    /* the parent: the child has the connection now */
            close(conn_fd);
            break;
        }
    }

    close(listen_fd);
    return 0;
}

/*
 * Exercise 02-upper: an echo server that replies in upper case.
 *
 *     usage: server PORT [ADDRESS]
 *
 * This is lesson 02's echo server, unchanged: it compiles and runs, and
 * echoes every byte as it came. The task (README.md in this folder) is to
 * send the letters back in upper case. Grade your version with
 *
 *     make grade EX=02-upper
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <stdio.h>
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

        /* TODO: turn the n bytes in buf into upper case before they go back. */

        if (write_all(fd, buf, (size_t)n, &stop_requested) == -1) {
            if (errno != EINTR)
                warn_errno("write %s", peer);  /* EPIPE: the client left */
            return;
        }
    }
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
        printf("%s connected\n", addr);
        echo(conn_fd, addr);
        close(conn_fd);
        printf("%s disconnected\n", addr);
    }

    close(listen_fd);
    return 0;
}

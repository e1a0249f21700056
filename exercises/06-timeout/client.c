/*
 * Exercise 06-timeout: lesson 02's echo client, which waits as long as it
 * takes. Give it two time limits (the task: README.md):
 *
 *     usage: client [-c SECONDS] [-r SECONDS] HOST PORT
 *
 *   -c SECONDS   give up connecting after SECONDS
 *   -r SECONDS   give up on a reply after SECONDS without a byte of it
 *
 * As it is, the client knows neither flag: "client -c 2 HOST PORT" is
 * "too many arguments".
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static const char usage[] = "[-c SECONDS] [-r SECONDS] HOST PORT";

int main(int argc, char *argv[])
{
    const char *host, *port;
    char server[ADDR_STRLEN];
    char buf[4096];
    int fd, status = 1;

    set_progname(argv[0]);
    /*
     * TODO: read -c SECONDS and -r SECONDS, in any order, before HOST PORT;
     * a bad value is a usage error that names it. Then pass what is left
     * of the command line to client_args().
     */
    client_args(argc, argv, usage, &host, &port);
    /* A server that has gone away is then an EPIPE error, not sudden death. */
    signal(SIGPIPE, SIG_IGN);

    /*
     * TODO: with -c, connect with a time limit: "connect ADDR: timed out
     * after SECONDS s". tcp_connect() (common/net.c) waits as long as the
     * kernel does, about two minutes.
     */
    fd = tcp_connect(host, port);
    if (fd == -1)
        return 1;
    peer_addr(fd, server);
    /* TODO: with -r, a time limit on each read from the server. */

    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        ssize_t got;

        if (n == 0) {
            status = 0;             /* end of input: all echoed, done */
            break;
        }
        if (n == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("read standard input");
            break;
        }
        if (write_all(fd, buf, (size_t)n, NULL) == -1) {
            warn_errno("write %s", server);
            break;
        }
        /* The echo may arrive in pieces: wait for all n bytes of it. */
        got = read_full(fd, buf, (size_t)n, NULL);
        /* TODO: when the -r time limit has passed: "read ADDR: timed out after SECONDS s". */
        if (got == -1) {
            warn_errno("read %s", server);
            break;
        }
        if (got < n) {
            warn_msg("%s closed the connection", server);
            break;
        }
        if (write_all(STDOUT_FILENO, buf, (size_t)got, NULL) == -1) {
            warn_errno("write standard output");
            break;
        }
    }
    /* Closing tells the server we are finished: it reads end of file. */
    close(fd);
    return status;
}

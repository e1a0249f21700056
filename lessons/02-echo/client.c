/*
 * Lesson 02 client: copies standard input to the server and the server's
 * replies to standard output, byte for byte.
 *
 *     usage: client HOST PORT
 *
 * It works in lock step: send a chunk, read back exactly as many bytes,
 * print them, repeat. That is enough for an echo server, keeps the code
 * short, and makes each typed line's echo appear right after it. Lesson 05's
 * chat client, which cannot know when replies come, uses select() instead.
 *
 * The same client works against the echo servers of lessons 03, 04 and 05.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static const char usage[] = "HOST PORT";

int main(int argc, char *argv[])
{
    const char *host, *port;
    char server[ADDR_STRLEN];
    char buf[4096];
    int fd, status = 1;

    set_progname(argv[0]);
    client_args(argc, argv, usage, &host, &port);
    /* A server that has gone away is then an EPIPE error, not sudden death. */
    signal(SIGPIPE, SIG_IGN);

    fd = tcp_connect(host, port);
    if (fd == -1)
        return 1;
    peer_addr(fd, server);

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

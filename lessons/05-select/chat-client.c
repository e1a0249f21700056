/*
 * Lesson 05 chat client: what you type goes to the server, and what the
 * server sends appears as soon as it arrives, even while you are typing.
 *
 *     usage: chat-client HOST PORT
 *
 * Lesson 02's client works in lock step: it reads a line from you, sends
 * it, and waits for the echo. A chat client cannot: messages from others
 * come whenever they come. So it waits for two descriptors at once with
 * select(): standard input and the socket, whichever has something first.
 *
 * At the end of your input (Ctrl-D) it does not close the socket: it
 * half-closes it with shutdown(SHUT_WR), which tells the server "nothing
 * more from me", and goes on printing what the server sends until the
 * server closes. Then it exits 0. If the server closes first, while you
 * could still type, the client says so and exits 1.
 *
 * It works with any server of this lesson: with the echo server, it prints
 * the echo of whatever it sends.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/select.h>
#include <unistd.h>

static const char usage[] = "HOST PORT";

int main(int argc, char *argv[])
{
    const char *host, *port;
    char server[ADDR_STRLEN];
    char buf[4096];
    int fd, input_open = 1, status = 1;

    set_progname(argv[0]);
    client_args(argc, argv, usage, &host, &port);
    /* A server that has gone away is then an EPIPE error, not sudden death. */
    signal(SIGPIPE, SIG_IGN);

    fd = tcp_connect(host, port);
    if (fd == -1)
        return 1;
    peer_addr(fd, server);
    if (fd >= FD_SETSIZE) {
        warn_msg("descriptor %d >= FD_SETSIZE (%d): too many open files",
                 fd, FD_SETSIZE);
        close(fd);
        return 1;
    }

    for (;;) {
        fd_set readable;
        ssize_t n;

        /* (unsigned): musl's FD_SET and FD_ISSET compute in unsigned long. */
        FD_ZERO(&readable);
        FD_SET((unsigned)fd, &readable);
        if (input_open)
            FD_SET(STDIN_FILENO, &readable);
        if (select(fd + 1, &readable, NULL, NULL, NULL) == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("select");
            break;
        }

        if (FD_ISSET((unsigned)fd, &readable)) {
            n = read(fd, buf, sizeof buf);
            if (n == 0) {
                if (input_open) {
                    warn_msg("%s closed the connection", server);
                    break;
                }
                status = 0;         /* we were done, and so is the server */
                break;
            }
            if (n == -1) {
                if (errno == EINTR)
                    continue;
                warn_errno("read %s", server);   /* ECONNRESET */
                break;
            }
            if (write_all(STDOUT_FILENO, buf, (size_t)n, NULL) == -1) {
                warn_errno("write standard output");
                break;
            }
            /* What has arrived is printed before more is sent: a client
             * that sent faster than it read would make the server hold
             * the difference, and a server holds only so much. */
            continue;
        }

        if (input_open && FD_ISSET(STDIN_FILENO, &readable)) {
            n = read(STDIN_FILENO, buf, sizeof buf);
            if (n == 0) {
                /* Our side is finished; the server's may not be yet. */
                input_open = 0;
                if (shutdown(fd, SHUT_WR) == -1) {
                    warn_errno("shutdown %s", server);
                    break;
                }
                continue;
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
        }
    }
    close(fd);
    return status;
}

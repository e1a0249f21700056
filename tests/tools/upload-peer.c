/*
 * upload-peer - a client for lesson 09's tests that sends whatever bytes a
 * test prepared (a hostile header, half a file) and then ends the way the
 * test asks.
 *
 *     usage: upload-peer HOST PORT reply|close|reset
 *
 * Sends all of standard input, then:
 *   reply   shutdown(SHUT_WR) and copy all the server answers to stdout
 *   close   close() normally: the server sees end of file
 *   reset   SO_LINGER {1, 0} and close(): the server sees an RST
 * Exit status 0 when the bytes went out (for reply: and end of file came).
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    char buf[65536];
    ssize_t n;
    int fd;

    set_progname(argv[0]);
    if (argc != 4)
        usage_error("HOST PORT reply|close|reset", "three arguments expected");
    catch_stop_signals();           /* for SIGPIPE: an early refusal is EPIPE */
    fd = tcp_connect(argv[1], argv[2]);
    if (fd == -1)
        return 1;
    while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0)
        if (write_all(fd, buf, (size_t)n, NULL) == -1) {
            warn_errno("write");
            break;
        }
    if (strcmp(argv[3], "reset") == 0) {
        struct linger hard = {1, 0};

        if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard) == -1)
            die_errno("setsockopt SO_LINGER");
    } else if (strcmp(argv[3], "reply") == 0) {
        shutdown(fd, SHUT_WR);
        while ((n = read(fd, buf, sizeof buf)) > 0)
            if (write_all(STDOUT_FILENO, buf, (size_t)n, NULL) == -1)
                die_errno("stdout");
        if (n == -1) {
            warn_errno("read");
            return 1;
        }
    }
    close(fd);
    return 0;
}

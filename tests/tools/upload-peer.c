/*
 * upload-peer - a client for lesson 09's tests that sends whatever bytes a
 * test prepared (a hostile header, half a file) and then ends the way the
 * test asks.
 *
 *     usage: upload-peer HOST PORT reply|close|reset
 *
 * Sends all of standard input, then:
 *   reply   shutdown(SHUT_WR) and print the line the server answers
 *   close   close() normally: the server sees end of file
 *   reset   SO_LINGER {1, 0} and close(): the server sees an RST
 * Exit status 0 when the bytes went out (and, for reply, a line came).
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    char buf[65536];
    struct line_reader in;
    char *line;
    size_t len;
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
        if (line_reader_init(&in, fd, 1024) == -1)
            die_errno("line_reader_init");
        if (line_read(&in, &line, &len, NULL) != 1) {
            warn_errno("no reply");
            return 1;
        }
        printf("%s\n", line);
        line_reader_free(&in);
    }
    close(fd);
    return 0;
}

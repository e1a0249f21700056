/*
 * Lesson 09 msg-client: each line of standard input goes to msg-server as
 * one length-prefixed message; each reply is printed as one line.
 *
 *     usage: msg-client HOST PORT
 *
 * The lines are read with common/lines.c's line_read(), the delimited
 * framing of this lesson; on the wire they travel length-prefixed
 * (frame.h), so a reply is always exactly one message, whatever read()
 * returned on the way. A line longer than the server's limit (64 KiB) is
 * refused here too: the reader's maximum is the same.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char usage[] = "HOST PORT";

int main(int argc, char *argv[])
{
    const char *host, *port;
    struct line_reader in;
    int fd, status = 0;

    set_progname(argv[0]);
    client_args(argc, argv, usage, &host, &port);
    fd = tcp_connect(host, port);
    if (fd == -1)
        return 1;
    if (line_reader_init(&in, STDIN_FILENO, FRAME_MAX_DEFAULT) == -1)
        die_errno("line_reader_init");

    for (;;) {
        char *line, *reply;
        size_t len, got;
        uint32_t reply_len;
        int r = line_read(&in, &line, &len, NULL);

        if (r == 0)
            break;
        if (r == -1) {
            warn_errno("standard input");   /* EMSGSIZE: a line over 64 KiB */
            status = 1;
            break;
        }
        if (frame_write(fd, line, (uint32_t)len, NULL) == -1) {
            warn_errno("write");
            status = 1;
            break;
        }
        r = frame_read(fd, &reply, &reply_len, FRAME_MAX_DEFAULT, &got, NULL);
        if (r != 1) {
            if (r == 0)
                warn_msg("the server closed the connection");
            else if (errno == EPROTO)
                warn_msg("truncated reply: %zu bytes of it arrived", got);
            else
                warn_errno("read");
            status = 1;
            break;
        }
        if (fwrite(reply, 1, reply_len, stdout) != reply_len || putchar('\n') == EOF) {
            free(reply);
            die_errno("standard output");
        }
        free(reply);
    }
    line_reader_free(&in);
    close(fd);
    if (fflush(stdout) == EOF)
        die_errno("standard output");
    return status;
}

/*
 * Lesson 09 line-server: delimited framing, one reply per line.
 *
 *     usage: line-server [-m MAX] PORT [ADDRESS]
 *
 * Every line the client sends (up to '\n', or the last bytes before end of
 * file) is answered with "line N: LEN bytes: TEXT", however the bytes were
 * cut up on the way: common/lines.c's line_read() puts them back together.
 * A line longer than MAX bytes (default 1024) gets one error line and the
 * connection is closed: the server never buffers more than MAX bytes for a
 * client that sends no newline. One client at a time.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "[-m MAX] PORT [ADDRESS]";

static void serve(int fd, const char *peer, size_t max)
{
    struct line_reader in;
    unsigned long count = 0;
    char reply[128];

    if (line_reader_init(&in, fd, max) == -1) {
        warn_errno("line_reader_init");
        return;
    }
    for (;;) {
        char *line;
        size_t len;
        int r = line_read(&in, &line, &len, &stop_requested), n;

        if (r == 0)
            break;
        if (r == -1) {
            if (errno == EMSGSIZE) {
                n = snprintf(reply, sizeof reply, "error: line longer than %zu bytes\n", max);
                (void)write_all(fd, reply, (size_t)n, &stop_requested);
                printf("%s: line longer than %zu bytes, closing\n", peer, max);
            } else if (errno != EINTR) {
                warn_errno("read %s", peer);
            }
            line_reader_free(&in);
            return;
        }
        count++;
        n = snprintf(reply, sizeof reply, "line %lu: %zu bytes: ", count, len);
        line[len] = '\n';           /* the reader's NUL is ours to overwrite */
        if (write_all(fd, reply, (size_t)n, &stop_requested) == -1 ||
            write_all(fd, line, len + 1, &stop_requested) == -1) {
            if (errno != EINTR)
                warn_errno("write %s", peer);
            line_reader_free(&in);
            return;
        }
    }
    printf("%s: %lu lines\n", peer, count);
    line_reader_free(&in);
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    size_t max = 1024;
    int listen_fd;

    set_progname(argv[0]);
    if (argc >= 3 && strcmp(argv[1], "-m") == 0) {
        char *end;
        unsigned long m;

        errno = 0;
        m = strtoul(argv[2], &end, 10);
        if (argv[2][0] < '0' || argv[2][0] > '9' || *end != '\0' || errno != 0 ||
            m < 1 || m > 1048576)
            usage_error(usage, "invalid maximum '%s' (1 to 1048576 bytes)", argv[2]);
        max = m;
        argv[2] = argv[0];
        argc -= 2;
        argv += 2;
    }
    server_args(argc, argv, usage, &port, &host);
    /*
     * Unbuffered: each printf() is one write(). When the log is a pipe
     * nobody reads, a stop signal interrupts that write and the line is
     * dropped; a buffered line would be written again by exit(), which
     * would then wait for ever.
     */
    setvbuf(stdout, NULL, _IONBF, 0);
    catch_stop_signals();

    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;
    printf("listening on %s\n", local_addr(listen_fd, addr));

    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int conn_fd = accept_client(listen_fd, &peer, &peer_len);

        if (conn_fd == -1) {
            if (errno != EINTR && errno != EMFILE)
                warn_errno("accept");
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        printf("%s connected\n", addr);
        serve(conn_fd, addr, max);
        close(conn_fd);
    }
    close(listen_fd);
    return 0;
}

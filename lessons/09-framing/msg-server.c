/*
 * Lesson 09 msg-server: an echo server for length-prefixed messages.
 *
 *     usage: msg-server [-m MAX] PORT [ADDRESS]
 *
 * Each message (frame.h: a 4-byte big-endian length, then the payload)
 * comes back as one message, however the bytes were cut up on the way:
 * lesson 02's echo server sends back bytes, this one messages. A length
 * over MAX (default 65536) is refused before anything is allocated, and a
 * connection that ends inside a message is reported as truncated: the
 * server says which, drops that client, and serves the next.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "frame.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "[-m MAX] PORT [ADDRESS]";

/* Serves one client; returns when it leaves or breaks the protocol. */
static void serve(int fd, const char *peer, uint32_t max)
{
    unsigned long count = 0;

    for (;;) {
        char *msg;
        uint32_t len;
        size_t got;
        int r = frame_read(fd, &msg, &len, max, &got, &stop_requested);

        if (r == 0)
            break;
        if (r == -1) {
            if (errno == EMSGSIZE)
                printf("%s: refused a message of %" PRIu32 " bytes (the limit is %" PRIu32 ")\n",
                       peer, len, max);
            else if (errno == EPROTO)
                printf("%s: truncated message: the connection ended after %zu bytes of it\n",
                       peer, got);
            else if (errno != EINTR)
                warn_errno("read %s", peer);
            return;
        }
        count++;
        if (frame_write(fd, msg, len, &stop_requested) == -1) {
            if (errno != EINTR)
                warn_errno("write %s", peer);
            free(msg);
            return;
        }
        free(msg);
    }
    printf("%s: %lu messages\n", peer, count);
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    uint32_t max = FRAME_MAX_DEFAULT;
    int listen_fd;

    set_progname(argv[0]);
    if (argc >= 3 && strcmp(argv[1], "-m") == 0) {
        char *end;
        unsigned long long m;

        errno = 0;
        m = strtoull(argv[2], &end, 10);
        if (argv[2][0] < '0' || argv[2][0] > '9' || *end != '\0' || errno != 0 || m > UINT32_MAX)
            usage_error(usage, "invalid maximum '%s' (0 to 4294967295 bytes)", argv[2]);
        max = (uint32_t)m;
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

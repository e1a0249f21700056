/*
 * Exercise 09-frames, a solution: length-prefixed messages, upper-cased.
 *
 *     usage: server PORT [ADDRESS]
 *
 * Each message is a 4-byte length in network byte order and that many
 * bytes; each reply is the same message with its letters in upper case, in
 * the same framing. A length over MAX_MESSAGE is refused before anything
 * is read or allocated for it; end of file inside a message is logged as
 * truncated. Either way only that client is dropped.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "PORT [ADDRESS]";

#define MAX_MESSAGE 1000

static void serve(int fd, const char *peer)
{
    unsigned long count = 0;

    for (;;) {
        unsigned char header[4];
        char msg[MAX_MESSAGE];
        uint32_t wire, len;
        ssize_t n = read_full(fd, header, sizeof header, &stop_requested);

        if (n == 0)
            break;                  /* a clean end, between messages */
        if (n == -1) {
            if (errno != EINTR)
                warn_errno("read %s", peer);
            return;
        }
        if (n < 4) {
            printf("%s: truncated message\n", peer);
            return;
        }
        memcpy(&wire, header, 4);
        len = ntohl(wire);
        if (len > MAX_MESSAGE) {
            printf("%s: refused length %lu\n", peer, (unsigned long)len);
            return;
        }
        n = read_full(fd, msg, len, &stop_requested);
        if (n == -1) {
            if (errno != EINTR)
                warn_errno("read %s", peer);
            return;
        }
        if ((size_t)n < len) {
            printf("%s: truncated message\n", peer);
            return;
        }
        for (uint32_t i = 0; i < len; i++)
            msg[i] = (char)toupper((unsigned char)msg[i]);
        if (write_all(fd, header, 4, &stop_requested) == -1 ||
            write_all(fd, msg, len, &stop_requested) == -1) {
            if (errno != EINTR)
                warn_errno("write %s", peer);
            return;
        }
        count++;
    }
    printf("%s: %lu messages\n", peer, count);
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
        int conn_fd = accept_client(listen_fd, &peer, &peer_len);

        if (conn_fd == -1) {
            if (errno != EINTR && errno != EMFILE)
                warn_errno("accept");
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        printf("%s connected\n", addr);
        serve(conn_fd, addr);
        close(conn_fd);
        printf("%s disconnected\n", addr);
    }
    close(listen_fd);
    return 0;
}

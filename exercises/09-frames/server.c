/*
 * Exercise 09-frames: length-prefixed messages, upper-cased.
 *
 *     usage: server PORT [ADDRESS]
 *
 * The accept loop is done. serve() below treats each read() as one
 * message, which is the bug this exercise is about: it passes when every
 * message arrives alone and whole, and fails the grader's other checks.
 * The task is in README.md in this folder. Grade your version with
 *
 *     make grade EX=09-frames
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static const char usage[] = "PORT [ADDRESS]";

#define MAX_MESSAGE 1000

static void serve(int fd, const char *peer)
{
    unsigned long count = 0;

    for (;;) {
        /*
         * The sticky-packet bug, on purpose: this takes one read() for one
         * whole message. It works while every message arrives in one piece
         * and alone; it breaks when two arrive together, or one in parts.
         */
        char buf[4 + MAX_MESSAGE];
        ssize_t n = read(fd, buf, sizeof buf);

        if (n == 0)
            break;
        if (n == -1) {
            if (errno == EINTR && !stop_requested)
                continue;
            if (errno != EINTR)
                warn_errno("read %s", peer);
            return;
        }
        for (ssize_t i = 4; i < n; i++)
            buf[i] = (char)toupper((unsigned char)buf[i]);
        if (write_all(fd, buf, (size_t)n, &stop_requested) == -1) {
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

/*
 * Exercise 01-greet, reference solution: a server that greets each client
 * with the client's own address, "Hello 127.0.0.1:51234!", and hangs up.
 *
 *     usage: server PORT [ADDRESS]
 *
 * Lesson 01's server with one change: the greeting is made for each client
 * from the address accept() returns. That is the address of the other end
 * of the new connection, the same one getpeername() on conn_fd would give;
 * the server already has it, so asking the kernel again would add a call
 * that can fail and nothing else.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "PORT [ADDRESS]";

int main(int argc, char *argv[])
{
    const char *port, *host;
    struct addrinfo hints, *list, *ai;
    char addr[ADDR_STRLEN];
    int listen_fd = -1;
    int rc;

    set_progname(argv[0]);
    server_args(argc, argv, usage, &port, &host);
    /* Line by line, so the "listening on" line reaches a log file at once. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();

    /* getaddrinfo: text such as "127.0.0.1" or "::1" to socket addresses. */
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;        /* IPv4 or IPv6 */
    hints.ai_socktype = SOCK_STREAM;    /* TCP */
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        fprintf(stderr, "%s: getaddrinfo %s: %s\n", progname(), host, gai_strerror(rc));
        return 1;
    }

    /* A name may have several addresses: use the first one that binds. */
    for (ai = list; ai != NULL; ai = ai->ai_next) {
        const int on = 1;

        format_addr(ai->ai_addr, ai->ai_addrlen, addr);
        /* socket: a new endpoint, not yet tied to any address. */
        listen_fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (listen_fd == -1) {
            warn_errno("socket %s", addr);
            continue;
        }
        /* Restart at once while old connections linger (see lesson 02). */
        if (setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
            warn_errno("setsockopt SO_REUSEADDR %s", addr);
        /* bind: claim the address and port; fails if someone else has it. */
        if (bind(listen_fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        warn_errno("bind %s", addr);
        close(listen_fd);
        listen_fd = -1;
    }
    freeaddrinfo(list);
    if (listen_fd == -1)
        return 1;

    /* listen: accept connections; up to SOMAXCONN may wait in a queue. */
    if (listen(listen_fd, SOMAXCONN) == -1) {
        warn_errno("listen %s", addr);
        close(listen_fd);
        return 1;
    }
    /* Port 0 asked the kernel to choose: getsockname tells which it chose. */
    printf("listening on %s\n", local_addr(listen_fd, addr));

    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        char greeting[sizeof "Hello !\n" + ADDR_STRLEN];
        size_t len;
        ssize_t sent;

        /* accept: wait for the next client; its connection is a new socket. */
        int conn_fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_len);

        if (conn_fd == -1) {
            /*
             * Out of descriptors (EMFILE; ENFILE: the whole system): the
             * client stays queued, and accept() would fail again at once.
             * This process holds at most one connection at a time, so it
             * gets here only if something else is wrong (ulimit -n tiny,
             * the system's table full): it says so and pauses instead of
             * spinning. EINTR is a signal: the loop condition decides
             * whether to stop, and a stop signal cuts the pause short.
             */
            if (errno == EMFILE || errno == ENFILE) {
                warn_errno("accept (trying again in a second)");
                sleep(1);
            } else if (errno != EINTR) {
                warn_errno("accept");
            }
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        printf("%s connected\n", addr);

        /* The buffer has room for the longest address: no truncation. */
        len = (size_t)snprintf(greeting, sizeof greeting, "Hello %s!\n", addr);

        /* write: may send fewer bytes than asked; lesson 02 handles that. */
        sent = write(conn_fd, greeting, len);
        if (sent == -1)
            warn_errno("write %s", addr);
        else if ((size_t)sent < len)
            warn_msg("write %s: sent only %zd of %zu bytes", addr, sent, len);

        /* close: the client reads end of file after the greeting. */
        if (close(conn_fd) == -1)
            warn_errno("close %s", addr);
        printf("%s disconnected\n", addr);
    }

    close(listen_fd);
    return 0;
}

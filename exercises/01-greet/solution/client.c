/*
 * Exercise 01-greet, reference solution: a client that says which two
 * addresses its connection joins, then prints what the server sent.
 *
 *     usage: client HOST PORT
 *
 *     Connected to 127.0.0.1:9000 from 127.0.0.1:51234
 *     Message from server: Hello 127.0.0.1:51234!
 *
 * A connection has two ends, and the socket knows both: getpeername() gives
 * the server's address, the one connect() reached (not the name on the
 * command line: "localhost" may be tried as ::1 and 127.0.0.1), and
 * getsockname() the client's own, which the kernel chose during connect():
 * the local address of the route to the server and a free ephemeral port.
 * The server sees the same pair the other way round.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "HOST PORT";

/* The longest message it takes. */
#define MESSAGE_MAX 256

int main(int argc, char *argv[])
{
    const char *host, *port;
    struct addrinfo hints, *list, *ai;
    struct sockaddr_storage end;
    socklen_t end_len;
    char addr[ADDR_STRLEN], mine[ADDR_STRLEN];
    char message[MESSAGE_MAX + 1];  /* one more, to tell 256 from too long */
    size_t used = 0;
    int fd = -1;
    int rc;

    set_progname(argv[0]);
    client_args(argc, argv, usage, &host, &port);

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        fprintf(stderr, "%s: getaddrinfo %s: %s\n", progname(), host, gai_strerror(rc));
        return 1;
    }

    /* Try each address in turn: "localhost" may be ::1 and 127.0.0.1. */
    for (ai = list; ai != NULL; ai = ai->ai_next) {
        format_addr(ai->ai_addr, ai->ai_addrlen, addr);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            warn_errno("socket %s", addr);
            continue;
        }
        /* connect: the three-way handshake; refused if nobody listens. */
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        warn_errno("connect %s", addr);
        close(fd);
        fd = -1;
    }
    freeaddrinfo(list);
    if (fd == -1)
        return 1;

    /*
     * The two ends of the connection. Like accept(), both calls take the
     * room available in end_len and return the size used in it. On a
     * connected socket they fail only if the connection is already gone
     * (ENOTCONN: the server reset it straight away).
     */
    end_len = sizeof end;
    if (getpeername(fd, (struct sockaddr *)&end, &end_len) == -1) {
        warn_errno("getpeername %s", addr);
        close(fd);
        return 1;
    }
    format_addr((struct sockaddr *)&end, end_len, addr);
    end_len = sizeof end;
    if (getsockname(fd, (struct sockaddr *)&end, &end_len) == -1) {
        warn_errno("getsockname %s", addr);
        close(fd);
        return 1;
    }
    format_addr((struct sockaddr *)&end, end_len, mine);
    printf("Connected to %s from %s\n", addr, mine);

    /*
     * One read may return part of what was sent, so keep reading until
     * read returns 0 (the server closed) or the buffer is full.
     */
    for (;;) {
        ssize_t n = read(fd, message + used, sizeof message - used);

        if (n == 0)
            break;
        if (n == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("read %s", addr);
            close(fd);
            return 1;
        }
        used += (size_t)n;
        if (used > MESSAGE_MAX) {
            warn_msg("read %s: message longer than %d bytes", addr, MESSAGE_MAX);
            close(fd);
            return 1;
        }
    }
    close(fd);

    /* fwrite, not printf("%s"): a NUL byte would end a string. */
    fputs("Message from server: ", stdout);
    fwrite(message, 1, used, stdout);
    if (used == 0 || message[used - 1] != '\n')
        putchar('\n');
    return 0;
}

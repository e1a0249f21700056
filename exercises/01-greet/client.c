/*
 * Exercise 01-greet: a client that says which two addresses its connection
 * joins, then prints what the server sent.
 *
 *     usage: client HOST PORT
 *
 *     Connected to 127.0.0.1:9000 from 127.0.0.1:51234
 *     Message from server: Hello 127.0.0.1:51234!
 *
 * This is lesson 01's client, unchanged: it prints the message only. The
 * task is in README.md in this folder; the TODO below marks where the new
 * line belongs. Grade your version with
 *
 *     make grade EX=01-greet
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
    char addr[ADDR_STRLEN];
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
     * TODO: print "Connected to SERVER from CLIENT", both addresses as the
     * socket fd sees them (getpeername, getsockname), before reading.
     */

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

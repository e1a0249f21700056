/*
 * Exercise 07-retry starter: a request/response client over UDP that
 * trusts the network.
 *
 *     usage: client HOST PORT
 *
 * Each line of standard input is sent as one datagram; the datagram that
 * comes back next is printed as the answer. That works on loopback, where
 * nothing is lost. Through a network that loses a datagram, recvfrom()
 * waits forever; through one that sends a datagram twice, the copy is
 * printed as the answer to the next line. See README.md for the task.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "../../lessons/07-udp/udp.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char usage[] = "HOST PORT";

int main(int argc, char *argv[])
{
    const char *host, *port;
    struct sockaddr_storage server;
    socklen_t server_len;
    static char reply[MAX_DATAGRAM + 1];
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;
    int fd, status = 0;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    client_args(argc, argv, usage, &host, &port);
    setvbuf(stdout, NULL, _IOLBF, 0);

    fd = udp_open(host, port, 0, &server, &server_len);
    if (fd == -1)
        return 1;
    while ((len = getline(&line, &line_cap, stdin)) != -1) {
        ssize_t n;

        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (sendto(fd, line, (size_t)len, 0, (struct sockaddr *)&server, server_len) == -1) {
            warn_errno("sendto");
            status = 1;
            break;
        }
        /* TODO: wait a limited time, send again, give up after a few tries,
         * and make sure that what arrives is the answer to this line. */
        n = recvfrom(fd, reply, sizeof reply, 0, NULL, NULL);
        if (n == -1) {
            warn_errno("recvfrom");
            status = 1;
            break;
        }
        fwrite(reply, 1, (size_t)n, stdout);
        putchar('\n');
    }
    free(line);
    close(fd);
    return status;
}

/*
 * Lesson 07 server: a UDP echo server.
 *
 *     usage: server PORT [ADDRESS]
 *
 * Every datagram that arrives goes back to whoever sent it, unchanged: one
 * recvfrom(), one sendto(). There is no connection, no accept() and no
 * client to wait for, so one socket in one loop serves every client at
 * once, with no fork, thread or select. A datagram is a message: an empty
 * one is echoed as an empty one, not taken for end of file (UDP has none).
 *
 * The server logs each client the first time it hears from it (at most
 * LOG_PER_SECOND a second), and at the end how much it served: a line per
 * datagram would let a flood fill the log, and a log nobody reads would
 * then block the server.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "udp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "PORT [ADDRESS]";

/* The clients heard from most recently, so that each is logged once. */
#define KNOWN 64
/* New clients logged per second at most: forged sources cannot fill the log. */
#define LOG_PER_SECOND 5

struct peer {
    struct sockaddr_storage addr;
    socklen_t len;
};

static struct peer known[KNOWN];
static unsigned long known_count;      /* clients ever seen */

/* Logs a client not among the KNOWN most recent ones, and remembers it. */
static void note_peer(const struct sockaddr_storage *addr, socklen_t len, ssize_t n)
{
    static long long second;
    static unsigned logged, held;
    char text[ADDR_STRLEN];
    struct peer *slot;

    for (unsigned i = 0; i < KNOWN && i < known_count; i++)
        if (same_addr(&known[i].addr, known[i].len, addr, len))
            return;
    slot = &known[known_count++ % KNOWN];   /* the oldest makes room */
    memcpy(&slot->addr, addr, len);
    slot->len = len;
    if (now_ms() / 1000 != second) {
        if (held > 0)
            printf("(%u more new clients not shown)\n", held);
        second = now_ms() / 1000;
        logged = held = 0;
    }
    if (logged++ >= LOG_PER_SECOND) {
        held++;
        return;
    }
    format_addr((const struct sockaddr *)addr, len, text);
    printf("%s: first datagram, %zd bytes\n", text, n);
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    struct sockaddr_storage self;
    socklen_t self_len;
    char addr[ADDR_STRLEN];
    /* One byte more than any datagram: nothing that arrives is cut short. */
    static char buf[MAX_DATAGRAM + 1];
    unsigned long datagrams = 0;
    int fd;

    set_progname(argv[0]);
    server_args(argc, argv, usage, &port, &host);
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();

    fd = udp_open(host, port, 1, &self, &self_len);
    if (fd == -1)
        return 1;
    printf("listening on %s\n", local_addr(fd, addr));

    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &peer_len);

        if (n == -1) {
            /* EINTR: a signal, the loop checks the flag. ECONNREFUSED:
             * some systems report an earlier sendto()'s ICMP error here;
             * it concerns one client, not this one. */
            if (errno != EINTR && errno != ECONNREFUSED)
                warn_errno("recvfrom");
            continue;
        }
        datagrams++;
        note_peer(&peer, peer_len, n);
        /* n may be 0: an empty datagram, echoed as one. */
        if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, peer_len) == -1 &&
            errno != EINTR)
            warn_errno("sendto %s", format_addr((struct sockaddr *)&peer, peer_len, addr));
    }

    printf("served %lu datagrams from %lu clients\n", datagrams, known_count);
    close(fd);
    return 0;
}

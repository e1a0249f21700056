/*
 * Lesson 07 probe: sends messages of the sizes you name and shows what
 * comes back, to see datagrams keep their boundaries (and a stream not).
 *
 *     usage: probe [--tcp] [--connect] [--broadcast] [--buffer BYTES]
 *                  [--wait SEC] [--rounds N] HOST PORT SIZE...
 *
 * By default it sends one UDP datagram of each SIZE (0 is allowed: an
 * empty datagram), then prints each reply as it is received, until one has
 * come for each datagram or nothing more comes for --wait seconds
 * (default 1). Exit 0 when every datagram got a reply, 1 otherwise.
 *
 *   --buffer BYTES  receive into a buffer this small (default 65536): a
 *                   longer datagram is cut short, and the rest is lost
 *   --connect       connect() the socket first (see the client)
 *   --broadcast     set SO_BROADCAST, without which sending to a broadcast
 *                   address fails with EACCES; then wait for every reply
 *   --tcp           the same messages over TCP (to lesson 02's server):
 *                   each one a write(), then, once all of the echo has
 *                   arrived, one read(): the boundaries are gone
 *   --rounds N      a ping-pong instead: N rounds of the first SIZE, one
 *                   at a time, and the time a round takes
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "udp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "[--tcp] [--connect] [--broadcast] [--buffer BYTES] [--wait SEC] [--rounds N]\n"
    "             HOST PORT SIZE...";

static int tcp, connected, broadcast;
static unsigned long buffer_size = MAX_DATAGRAM + 1, rounds;
static long wait_ms = 1000;
static char buf[2 * (MAX_DATAGRAM + 1)];
static char text[ADDR_STRLEN], peer_text[ADDR_STRLEN];

static int parse_flags(int argc, char *argv[])
{
    int i;

    for (i = 1; i < argc && is_flag(argv[i]); i++) {
        const char *f = argv[i];

        if (strcmp(f, "--tcp") == 0)
            tcp = 1;
        else if (strcmp(f, "--connect") == 0)
            connected = 1;
        else if (strcmp(f, "--broadcast") == 0)
            broadcast = 1;
        else if (strcmp(f, "--buffer") == 0)
            buffer_size = count_flag(f, flag_value(argc, argv, &i, usage), 1, MAX_DATAGRAM + 1, usage);
        else if (strcmp(f, "--wait") == 0)
            wait_ms = seconds_flag(f, flag_value(argc, argv, &i, usage), usage);
        else if (strcmp(f, "--rounds") == 0)
            rounds = count_flag(f, flag_value(argc, argv, &i, usage), 1, 1000000, usage);
        else
            usage_error(usage, "unknown option '%s'", f);
    }
    return i;
}

/* 1 when fd has something to read within ms, 0 when not, -1 on error. */
static int readable(int fd, long ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc;

    while ((rc = poll(&p, 1, (int)ms)) == -1 && errno == EINTR)
        ;
    return rc;
}

/*
 * One datagram into a buffer of buffer_size bytes. recvmsg() sets
 * MSG_TRUNC in msg_flags everywhere when the datagram did not fit; on
 * Linux, MSG_TRUNC passed in flags also makes it return the real size.
 */
static ssize_t receive(int fd, struct sockaddr_storage *from, socklen_t *from_len, int *cut)
{
    struct iovec iov = {.iov_base = buf, .iov_len = buffer_size};
    struct msghdr msg;
    int flags = 0;
    ssize_t n;

    memset(&msg, 0, sizeof msg);
    msg.msg_name = from;
    msg.msg_namelen = *from_len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
#ifdef __linux__
    flags = MSG_TRUNC;
#endif
    while ((n = recvmsg(fd, &msg, flags)) == -1 && errno == EINTR)
        ;
    *from_len = msg.msg_namelen;
    *cut = n != -1 && (msg.msg_flags & MSG_TRUNC);
    return n;
}

/* The datagrams of all sizes, then their replies, as they come. */
static int datagrams(int fd, const struct sockaddr_storage *to, socklen_t to_len,
                     int count, char *sizes[])
{
    int replies = 0;

    for (int k = 0; k < count; k++) {
        size_t size = count_flag("SIZE", sizes[k], 0, 2 * MAX_DATAGRAM, usage);
        ssize_t n = connected ? send(fd, buf, size, 0)
                              : sendto(fd, buf, size, 0, (const struct sockaddr *)to, to_len);

        if (n == -1) {
            /* EMSGSIZE over the largest payload; EACCES: broadcast without SO_BROADCAST. */
            warn_errno("sendto %s (%zu bytes)", peer_text, size);
            return 1;
        }
        printf("sent %zu bytes\n", size);
    }
    while ((broadcast || replies < count) && readable(fd, wait_ms) == 1) {
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        int cut;
        ssize_t n = receive(fd, &from, &from_len, &cut);

        if (n == -1) {
            warn_errno("recv %s", peer_text);   /* ECONNREFUSED, if connected */
            return 1;
        }
        format_addr((struct sockaddr *)&from, from_len, text);
        if (!cut)
            printf("received %zd bytes from %s\n", n, text);
#ifdef __linux__
        else
            printf("received %lu of %zd bytes from %s: truncated (MSG_TRUNC)\n",
                   buffer_size, n, text);
#else
        else
            printf("received %lu bytes from %s, and more were lost: truncated (MSG_TRUNC)\n",
                   buffer_size, text);
#endif
        replies++;
    }
    if (replies < count) {
        printf("no reply to %d of %d datagrams within %ld ms\n", count - replies, count, wait_ms);
        return 1;
    }
    return 0;
}

/* Each size as one write(); when the whole echo is there, one read(). */
static int stream(int fd, int count, char *sizes[])
{
    size_t total = 0;
    ssize_t n;

    for (int k = 0; k < count; k++) {
        size_t size = count_flag("SIZE", sizes[k], 0, MAX_DATAGRAM, usage);

        if (total + size > sizeof buf)
            usage_error(usage, "more than %zu bytes in all", sizeof buf);
        if (size > 0 && write(fd, buf, size) != (ssize_t)size) {
            warn_errno("write %s", peer_text);
            return 1;
        }
        total += size;
        printf("wrote %zu bytes\n", size);
    }
    /* MSG_PEEK looks without taking: it waits for the echo to be complete. */
    while ((n = recv(fd, buf, total, MSG_PEEK)) >= 0 && (size_t)n < total) {
        if (n == 0 || readable(fd, wait_ms) != 1)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    n = read(fd, buf, sizeof buf);
    if (n == -1) {
        warn_errno("read %s", peer_text);
        return 1;
    }
    printf("read %zd bytes in one read()\n", n);
    return (size_t)n == total ? 0 : 1;
}

static int compare(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

/* A ping-pong: round-trip times, one message in flight at a time. */
static int ping_pong(int fd, size_t size)
{
    long long *ns = malloc(rounds * sizeof *ns);
    struct timespec t0, t1;

    if (ns == NULL) {
        warn_errno("malloc");
        return 1;
    }
    for (unsigned long r = 0; r < rounds; r++) {
        size_t got = 0;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (send(fd, buf, size, 0) != (ssize_t)size) {
            warn_errno("send %s", peer_text);
            free(ns);
            return 1;
        }
        do {    /* TCP may deliver the echo in pieces; UDP in one */
            ssize_t n = readable(fd, wait_ms) == 1 ? recv(fd, buf, sizeof buf, 0) : -1;

            if (n <= 0) {
                warn_msg("round %lu: no reply from %s", r + 1, peer_text);
                free(ns);
                return 1;
            }
            got += (size_t)n;
        } while (tcp && got < size);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ns[r] = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    }
    qsort(ns, rounds, sizeof *ns, compare);
    printf("%lu rounds of %zu bytes over %s: median %.1f us, fastest %.1f us\n",
           rounds, size, tcp ? "TCP" : "UDP", (double)ns[rounds / 2] / 1000, (double)ns[0] / 1000);
    free(ns);
    return 0;
}

int main(int argc, char *argv[])
{
    struct sockaddr_storage to;
    socklen_t to_len = 0;
    const char *host, *port;
    int i, fd, status;
    const int on = 1;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    i = parse_flags(argc, argv);
    if (argc - i < 2)
        usage_error(usage, "missing host or port");
    client_args(3, argv + i - 1, usage, &host, &port);
    if (argc - i < 3)
        usage_error(usage, "missing SIZE");
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t k = 0; k < sizeof buf; k++)
        buf[k] = (char)('a' + k % 26);

    fd = tcp ? tcp_connect(host, port) : udp_open(host, port, 0, &to, &to_len);
    if (fd == -1)
        return 1;
    if (tcp)
        peer_addr(fd, peer_text);
    else
        format_addr((struct sockaddr *)&to, to_len, peer_text);
    if (broadcast && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) == -1)
        die_errno("setsockopt SO_BROADCAST");
    /* A ping-pong uses send() and recv(), so the socket needs a peer. */
    if (!tcp && (connected || rounds > 0) &&
        connect(fd, (struct sockaddr *)&to, to_len) == -1)
        die_errno("connect %s", peer_text);

    if (rounds > 0)
        status = ping_pong(fd, count_flag("SIZE", argv[i + 2], 0, MAX_DATAGRAM, usage));
    else if (tcp)
        status = stream(fd, argc - i - 2, argv + i + 2);
    else
        status = datagrams(fd, &to, to_len, argc - i - 2, argv + i + 2);
    close(fd);
    return status;
}

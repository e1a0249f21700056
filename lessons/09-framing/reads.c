/*
 * Lesson 09 reads: a server that shows what each read() returns.
 *
 *     usage: reads [-d MS] PORT [ADDRESS]
 *
 * For every read() it prints how many bytes came and the first of them,
 * so that you see where the boundaries fall: not where the sender put
 * them. -d MS waits MS milliseconds before each read(), as a slow reader
 * does, and the sender's writes pile up into fewer, larger reads. One
 * client at a time, like lesson 02's server.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "[-d MS] PORT [ADDRESS]";

/* Prints one read: its size and up to 40 bytes, unprintable ones as '.'. */
static void show(const char *buf, ssize_t n)
{
    char text[41];
    size_t i, shown = (size_t)n < 40 ? (size_t)n : 40;

    for (i = 0; i < shown; i++)
        text[i] = buf[i] >= ' ' && buf[i] <= '~' ? buf[i] : '.';
    text[shown] = '\0';
    printf("read %zd bytes: %s%s\n", n, text, (size_t)n > shown ? "..." : "");
}

static void serve(int fd, long delay_ms)
{
    static char buf[65536];
    unsigned long reads = 0;
    unsigned long long total = 0;

    /* Checked each turn: a client that streams never lets read() block. */
    while (!stop_requested) {
        struct timespec pause = {delay_ms / 1000, delay_ms % 1000 * 1000000};
        ssize_t n;

        if (delay_ms > 0 && nanosleep(&pause, NULL) == -1 && stop_requested)
            return;
        n = read(fd, buf, sizeof buf);
        if (n == 0)
            break;
        if (n == -1) {
            if (errno == EINTR && !stop_requested)
                continue;
            if (errno != EINTR)
                warn_errno("read");
            return;
        }
        reads++;
        total += (unsigned long long)n;
        show(buf, n);
    }
    /* Not when stopping: the log may be what the stop interrupted. */
    if (!stop_requested)
        printf("%llu bytes in %lu reads\n", total, reads);
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    long delay_ms = 0;
    int listen_fd;

    set_progname(argv[0]);
    if (argc >= 3 && strcmp(argv[1], "-d") == 0) {
        char *end;

        errno = 0;
        delay_ms = strtol(argv[2], &end, 10);
        if (argv[2][0] < '0' || argv[2][0] > '9' || *end != '\0' || errno != 0 ||
            delay_ms > 60000)
            usage_error(usage, "invalid delay '%s' (0 to 60000 ms)", argv[2]);
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
        printf("%s connected\n", format_addr((struct sockaddr *)&peer, peer_len, addr));
        serve(conn_fd, delay_ms);
        close(conn_fd);
    }
    close(listen_fd);
    return 0;
}

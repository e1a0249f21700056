/*
 * Exercise 02-time, reference solution: an echo server that puts the local
 * time before every line it sends back.
 *
 *     usage: server PORT [ADDRESS]
 *
 * A client sends "hello\n" and gets "[Thu Feb  2 15:52:21 2012] hello\n".
 *
 * The classic timestamp servers call recv() once and send back the time and
 * whatever came: one time per read, which is one time per line only while
 * every line happens to arrive in one piece. Here the stream decides: the
 * server remembers whether the next byte starts a line, and puts the time
 * before the bytes that do. A line cut in two by the network gets one time;
 * three lines in one read get three; a line of any length needs no buffer
 * to hold it. Each line is stamped with the time its first byte arrived.
 *
 * The replies for one read are gathered in a buffer and written together,
 * rather than a small write for the time and another for the line: two
 * small writes in a row can wait for an acknowledgement (Nagle's algorithm
 * meeting delayed ACKs, up to 40 ms on Linux).
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "PORT [ADDRESS]";

/* "[Thu Feb  2 15:52:21 2012] " and its NUL. */
#define STAMP_SIZE 64

/*
 * The local time as ctime() writes it, in brackets, and a space. ctime()
 * itself is avoided: it returns a static buffer with a newline at the end,
 * and POSIX marks it obsolescent. strftime() in the "C" locale (this program
 * never calls setlocale) gives the same English names.
 */
static size_t format_stamp(char stamp[STAMP_SIZE])
{
    time_t now = time(NULL);
    struct tm tm;
    size_t len = 0;

    if (localtime_r(&now, &tm) != NULL)
        len = strftime(stamp, STAMP_SIZE, "[%a %b %e %H:%M:%S %Y] ", &tm);
    if (len == 0)                   /* a clock beyond what struct tm holds */
        len = (size_t)snprintf(stamp, STAMP_SIZE, "[unknown time] ");
    return len;
}

/* Bytes on their way to one client, written out when the buffer is full. */
struct reply {
    int fd;
    size_t used;
    char buf[8192];
};

static int flush_reply(struct reply *r)
{
    if (write_all(r->fd, r->buf, r->used, &stop_requested) == -1)
        return -1;
    r->used = 0;
    return 0;
}

static int add_reply(struct reply *r, const char *p, size_t len)
{
    while (len > 0) {
        size_t chunk = sizeof r->buf - r->used;

        if (chunk == 0) {
            if (flush_reply(r) == -1)
                return -1;
            continue;
        }
        if (chunk > len)
            chunk = len;
        memcpy(r->buf + r->used, p, chunk);
        r->used += chunk;
        p += chunk;
        len -= chunk;
    }
    return 0;
}

/*
 * Stamps one read's worth of bytes into r. *at_line_start carries over from
 * one read to the next: it is what makes a line split over reads one line.
 */
static int stamp_lines(struct reply *r, const char *buf, size_t n, bool *at_line_start)
{
    const char *p = buf, *end = buf + n;
    char stamp[STAMP_SIZE];
    size_t stamp_len = 0;

    while (p < end) {
        const char *newline = memchr(p, '\n', (size_t)(end - p));
        const char *stop = newline != NULL ? newline + 1 : end;

        if (*at_line_start) {
            if (stamp_len == 0)     /* one clock reading per read is enough */
                stamp_len = format_stamp(stamp);
            if (add_reply(r, stamp, stamp_len) == -1)
                return -1;
        }
        if (add_reply(r, p, (size_t)(stop - p)) == -1)
            return -1;
        *at_line_start = newline != NULL;
        p = stop;
    }
    return flush_reply(r);
}

/*
 * Serves one client until it closes. Whatever goes wrong ends this client's
 * session only: the caller goes back to accept() for the next one.
 */
static void echo_stamped(int fd, const char *peer)
{
    struct reply r = {.fd = fd, .used = 0};
    bool at_line_start = true;      /* each client starts with a new line */
    char buf[4096];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);

        if (n == 0)
            return;                 /* end of file: the client closed */
        if (n == -1) {
            if (errno == EINTR && !stop_requested)
                continue;
            if (errno != EINTR)
                warn_errno("read %s", peer);   /* ECONNRESET: a reset */
            return;
        }
        if (stamp_lines(&r, buf, (size_t)n, &at_line_start) == -1) {
            if (errno != EINTR)
                warn_errno("write %s", peer);  /* EPIPE: the client left */
            return;
        }
    }
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
    /* localtime_r() need not read TZ itself: POSIX asks for tzset() first. */
    tzset();

    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;
    printf("listening on %s\n", local_addr(listen_fd, addr));

    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int conn_fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_len);

        if (conn_fd == -1) {
            /*
             * Out of descriptors (EMFILE; ENFILE: the whole system): the
             * client stays queued, and accept() would fail again at once.
             * This process holds at most one connection at a time, so it
             * gets here only if something else is wrong (ulimit -n tiny,
             * the system's table full): it says so and pauses instead of
             * spinning. A stop signal cuts the pause short.
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
        echo_stamped(conn_fd, addr);
        close(conn_fd);
        printf("%s disconnected\n", addr);
    }

    close(listen_fd);
    return 0;
}

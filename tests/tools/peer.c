/*
 * peer - a scriptable TCP client for the test suite: it can misbehave on
 * purpose (reset, half-close, never read) in ways our own clients never do.
 *
 *     usage: peer HOST PORT STEP...
 *
 * Steps run in order; each one prints a line on stdout so a test can follow:
 *   send:N      send N bytes of a repeating pattern       -> "sent N"
 *   line:TEXT   send TEXT and a newline                   -> "sent N"
 *   recv:N      read exactly N bytes                      -> "received N"
 *   readline    read up to a newline and print the line   -> "line TEXT"
 *   drain       read until end of file                    -> "eof after N"
 *   shut        shutdown(SHUT_WR): a half-close           -> "shut"
 *   hold        wait until a signal ends the process: a test holds the
 *               connection open and releases it with kill (-> "holding")
 *   reset       SO_LINGER {1, 0} then close: the peer gets an RST -> "reset"
 * After the last step the socket is closed normally. Connection: "connected".
 * Exit status: 0 when every step did what it said, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "HOST PORT STEP...";

static int send_pattern(int fd, size_t n)
{
    char buf[8192];

    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)('a' + i % 26);
    while (n > 0) {
        size_t chunk = n < sizeof buf ? n : sizeof buf;

        if (write_all(fd, buf, chunk, NULL) == -1)
            return -1;
        n -= chunk;
    }
    return 0;
}

static int step(int fd, const char *s)
{
    char buf[8192];

    if (strncmp(s, "send:", 5) == 0) {
        size_t n = strtoul(s + 5, NULL, 10);

        if (send_pattern(fd, n) == -1)
            return -1;
        printf("sent %zu\n", n);
    } else if (strncmp(s, "line:", 5) == 0) {
        size_t n = strlen(s + 5);

        if (write_all(fd, s + 5, n, NULL) == -1 || write_all(fd, "\n", 1, NULL) == -1)
            return -1;
        printf("sent %zu\n", n + 1);
    } else if (strncmp(s, "recv:", 5) == 0) {
        size_t want = strtoul(s + 5, NULL, 10), got = 0;

        while (got < want) {
            size_t chunk = want - got < sizeof buf ? want - got : sizeof buf;
            ssize_t n = read_full(fd, buf, chunk, NULL);

            if (n == -1)
                return -1;
            got += (size_t)n;
            if ((size_t)n < chunk) {
                printf("eof after %zu\n", got);
                return -1;
            }
        }
        printf("received %zu\n", got);
    } else if (strcmp(s, "readline") == 0) {
        size_t used = 0;

        while (used < sizeof buf - 1) {
            ssize_t n = read(fd, buf + used, 1);

            if (n <= 0) {
                printf("eof after %zu\n", used);
                return -1;
            }
            if (buf[used] == '\n')
                break;
            used++;
        }
        printf("line %.*s\n", (int)used, buf);
    } else if (strcmp(s, "drain") == 0) {
        size_t total = 0;
        ssize_t n;

        while ((n = read(fd, buf, sizeof buf)) > 0)
            total += (size_t)n;
        if (n == -1)
            return -1;
        printf("eof after %zu\n", total);
    } else if (strcmp(s, "shut") == 0) {
        if (shutdown(fd, SHUT_WR) == -1)
            return -1;
        printf("shut\n");
    } else if (strcmp(s, "hold") == 0) {
        printf("holding\n");
        for (;;)
            pause();
    } else if (strcmp(s, "reset") == 0) {
        struct linger abort_close = {.l_onoff = 1, .l_linger = 0};

        if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close) == -1)
            return -1;
        printf("reset\n");
    } else {
        usage_error(usage, "unknown step '%s'", s);
    }
    return 0;
}

int main(int argc, char *argv[])
{
    int fd;

    set_progname(argv[0]);
    if (argc < 3)
        usage_error(usage, "missing host or port");
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    fd = tcp_connect(argv[1], argv[2]);
    if (fd == -1)
        return 1;
    printf("connected\n");
    for (int i = 3; i < argc; i++) {
        errno = 0;
        if (step(fd, argv[i]) == -1) {
            if (errno != 0)
                warn_errno("%s", argv[i]);
            else
                warn_msg("%s: the server closed the connection", argv[i]);
            close(fd);
            return 1;
        }
        if (strcmp(argv[i], "reset") == 0)
            break;
    }
    close(fd);
    return 0;
}

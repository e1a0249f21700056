/*
 * Exercise 07-retry, a solution: the request/response client over UDP,
 * made reliable (lesson 07's client, less its flags).
 *
 *     usage: client HOST PORT
 *
 * Each line of standard input goes as one datagram "SEQ TEXT", SEQ counted
 * up from 1; the answer is the datagram from the server that starts with
 * the same SEQ, and its TEXT is printed. A try waits FIRST_WAIT_MS, each
 * next one twice as long as the one before, up to MAX_WAIT_MS; after TRIES
 * sends without an answer the client says so and exits 1 (at most
 * 0.2 + 0.4 + 0.8 + 1 + 1 = 3.4 s).
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "../../../lessons/07-udp/udp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "HOST PORT";

#define FIRST_WAIT_MS 200
#define MAX_WAIT_MS 1000
#define TRIES 5

static struct sockaddr_storage server;
static socklen_t server_len;
static char reply[MAX_DATAGRAM + 1];

/* The SEQ a datagram starts with ("17 hello"), or 0 when it has none. */
static unsigned long seq_of(const char *buf, size_t len)
{
    unsigned long seq = 0;
    size_t i;

    for (i = 0; i < len && i < 20 && buf[i] >= '0' && buf[i] <= '9'; i++)
        seq = seq * 10 + (unsigned long)(buf[i] - '0');
    return i < len && buf[i] == ' ' ? seq : 0;
}

/*
 * Waits up to ms for the answer to request seq: its length, -2 when the
 * time ran out, -1 on an error (said). Anything else that comes, a copy of
 * an earlier answer or a stranger's datagram, is skipped: the deadline
 * stays where it was, so a stream of them cannot keep the client waiting.
 */
static ssize_t await_reply(int fd, unsigned long seq, long ms)
{
    long long deadline = now_ms() + ms;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        long long left = deadline - now_ms();
        ssize_t n;
        int rc;

        if (left <= 0)
            return -2;
        rc = poll(&p, 1, (int)left);
        if (rc == 0)
            return -2;
        if (rc == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("poll");
            return -1;
        }
        n = recvfrom(fd, reply, sizeof reply, 0, (struct sockaddr *)&from, &from_len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("recvfrom");
            return -1;
        }
        if (same_addr(&from, from_len, &server, server_len) &&
            seq_of(reply, (size_t)n) == seq)
            return n;
    }
}

/* Sends request seq until its answer comes: its length, or -1 (said). */
static ssize_t request(int fd, const char *req, size_t len, unsigned long seq)
{
    long wait = FIRST_WAIT_MS;

    for (int t = 1; t <= TRIES; t++) {
        ssize_t n;

        if (sendto(fd, req, len, 0, (struct sockaddr *)&server, server_len) == -1) {
            warn_errno("request %lu: sendto", seq);
            return -1;
        }
        n = await_reply(fd, seq, wait);
        if (n != -2)
            return n;
        wait = wait * 2 < MAX_WAIT_MS ? wait * 2 : MAX_WAIT_MS;
    }
    warn_msg("request %lu: no reply after %d tries", seq, TRIES);
    return -1;
}

int main(int argc, char *argv[])
{
    const char *host, *port;
    char *line = NULL, *req = NULL;
    size_t line_cap = 0;
    ssize_t len;
    unsigned long seq = 0;
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
        size_t text_len = (size_t)len, head;
        ssize_t n;
        char *bigger;

        if (text_len > 0 && line[text_len - 1] == '\n')
            text_len--;
        bigger = realloc(req, text_len + 24);
        if (bigger == NULL) {
            warn_errno("realloc");
            status = 1;
            break;
        }
        req = bigger;
        head = (size_t)snprintf(req, 24, "%lu ", ++seq);
        memcpy(req + head, line, text_len);
        n = request(fd, req, head + text_len, seq);
        if (n == -1) {
            status = 1;
            break;
        }
        fwrite(reply + head, 1, (size_t)n - head, stdout);
        putchar('\n');
    }
    free(line);
    free(req);
    close(fd);
    return status;
}

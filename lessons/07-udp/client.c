/*
 * Lesson 07 client: requests and responses over UDP, with nothing taken
 * on trust.
 *
 *     usage: client [--timeout SEC] [--tries N] [--connect] HOST PORT
 *
 * Each line of standard input is a request, sent as one datagram
 * "SEQ TEXT"; the response is the datagram that comes back with the same
 * SEQ, and its text is printed (the echo server's is the request's), in
 * input order. UDP promises nothing, so the client checks everything:
 *
 *   - A datagram may be lost, either way. Each try waits a limited time,
 *     then the request goes again, up to N tries; each wait doubles the one
 *     before (exponential backoff, up to MAX_WAIT_MS), less a random part of
 *     up to a quarter (jitter), so that clients that lost the same reply do
 *     not all come back at the same moment. After the last try the client
 *     says how many tries and how long, and exits 1.
 *   - A reply may come late, or twice: SEQ, counted up for each request,
 *     tells the reply to this request from one to an earlier request.
 *   - Anybody can send a datagram to our port: a reply must come from the
 *     server's address and port.
 *
 *   --timeout SEC  how long the first try waits (default 0.5)
 *   --tries N      sends of one request before giving up (default 5)
 *   --connect      connect() the socket: the kernel then drops datagrams
 *                  from anyone else, and reports an ICMP "port unreachable"
 *                  as ECONNREFUSED instead of letting the client time out
 *   --adaptive     after the first reply, the first wait follows the
 *                  measured round-trip time, as TCP's does (RFC 6298):
 *                  --timeout is then only the wait before any measurement
 *
 * Ctrl-C ends the client at once (the shell shows status 130): it holds
 * nothing that needs cleaning up.
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

static const char usage[] = "[--timeout SEC] [--tries N] [--connect] [--adaptive] HOST PORT";

/* No single wait is longer, however many tries. */
#define MAX_WAIT_MS 8000
/* Nor, with --adaptive, shorter: a busy machine takes a few ms to answer. */
#define MIN_WAIT_MS 20

static long first_wait_ms = 500;
static unsigned long tries = 5;
static int connected, adaptive;

/* RFC 6298's estimator, in microseconds; srtt < 0 until the first sample. */
static long long srtt = -1, rttvar;

static struct sockaddr_storage server;
static socklen_t server_len;
static char server_text[ADDR_STRLEN];
static uint32_t jitter_state;

static int parse_flags(int argc, char *argv[])
{
    int i;

    for (i = 1; i < argc && is_flag(argv[i]); i++) {
        const char *f = argv[i];

        if (strcmp(f, "--timeout") == 0)
            first_wait_ms = seconds_flag(f, flag_value(argc, argv, &i, usage), usage);
        else if (strcmp(f, "--tries") == 0)
            tries = count_flag(f, flag_value(argc, argv, &i, usage), 1, 100, usage);
        else if (strcmp(f, "--connect") == 0)
            connected = 1;
        else if (strcmp(f, "--adaptive") == 0)
            adaptive = 1;
        else
            usage_error(usage, "unknown option '%s'", f);
    }
    return i;
}

/* The sequence number a datagram starts with ("17 hello"), or 0. */
static unsigned long seq_of(const char *buf, size_t len)
{
    unsigned long seq = 0;
    size_t i;

    for (i = 0; i < len && i < 20 && buf[i] >= '0' && buf[i] <= '9'; i++)
        seq = seq * 10 + (unsigned long)(buf[i] - '0');
    return i < len && buf[i] == ' ' ? seq : 0;
}

/* The last reply received; the text after "SEQ " is what gets printed. */
static char reply[MAX_DATAGRAM + 1];

/*
 * Waits up to ms for the reply to request seq. Returns its length, -2 when
 * the time ran out, or -1 on an error (reported). Whatever else arrives
 * meanwhile is logged and ignored, and the wait goes on.
 */
static ssize_t await_reply(int fd, unsigned long seq, long ms)
{
    long long deadline = now_ms() + ms;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        char text[ADDR_STRLEN];
        long long left = deadline - now_ms();
        unsigned long theirs;
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
            /* ECONNREFUSED, on a connected socket: nobody on that port. */
            warn_errno("recv %s", server_text);
            return -1;
        }
        if (!same_addr(&from, from_len, &server, server_len)) {
            warn_msg("ignoring %zd bytes from %s: not the server", n,
                     format_addr((struct sockaddr *)&from, from_len, text));
            continue;
        }
        theirs = seq_of(reply, (size_t)n);
        if (theirs == seq)
            return n;
        if (theirs != 0 && theirs < seq)
            warn_msg("ignoring a late reply to request %lu", theirs);
        else
            warn_msg("ignoring %zd bytes from %s: not a reply to request %lu",
                     n, server_text, seq);
    }
}

static long long now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/*
 * Jacobson and Karels' estimator, as TCP uses it: a smoothed round-trip
 * time (gain 1/8) and a smoothed deviation from it (gain 1/4). Waiting for
 * SRTT + 4 RTTVAR covers the usual spread without waiting much longer.
 */
static void rtt_sample(long long rtt)
{
    if (srtt < 0) {
        srtt = rtt;
        rttvar = rtt / 2;
    } else {
        long long err = rtt - srtt;

        rttvar += ((err < 0 ? -err : err) - rttvar) / 4;
        srtt += err / 8;
    }
}

static long first_wait(void)
{
    long long ms;

    if (!adaptive || srtt < 0)
        return first_wait_ms;
    ms = (srtt + 4 * rttvar + 999) / 1000;
    return ms < MIN_WAIT_MS ? MIN_WAIT_MS : ms > MAX_WAIT_MS ? MAX_WAIT_MS : (long)ms;
}

/*
 * Sends request seq until its reply comes or the tries run out. Returns
 * the reply's length, or -1 (reported).
 */
static ssize_t request(int fd, const char *req, size_t len, unsigned long seq)
{
    long long start = now_ms(), sent = 0;
    long wait = first_wait();

    for (unsigned long t = 1; t <= tries; t++) {
        /* The jitter: a random quarter of the wait, at most, is taken off. */
        long ms = wait - (long)(next_random(&jitter_state) % (uint32_t)(wait / 4 + 1));
        ssize_t n = connected ? send(fd, req, len, 0)
                              : sendto(fd, req, len, 0, (struct sockaddr *)&server, server_len);

        if (n == -1) {
            /* EMSGSIZE: more than one datagram holds. ECONNREFUSED: see above. */
            warn_errno("request %lu (%zu bytes): send %s", seq, len, server_text);
            return -1;
        }
        if (t == 1)
            sent = now_us();
        n = await_reply(fd, seq, ms);
        /* Karn: after a retry, the reply may answer either copy, so it
         * measures nothing. Only an answer to a single send is a sample. */
        if (n >= 0 && t == 1)
            rtt_sample(now_us() - sent);
        if (n != -2)
            return n;
        if (t < tries)
            warn_msg("request %lu: no reply within %.3f s, sending it again (try %lu of %lu)",
                     seq, (double)ms / 1000, t + 1, tries);
        wait = wait * 2 < MAX_WAIT_MS ? wait * 2 : MAX_WAIT_MS;
    }
    warn_msg("request %lu: no reply from %s after %lu tries in %.1f s", seq,
             server_text, tries, (double)(now_ms() - start) / 1000);
    return -1;
}

int main(int argc, char *argv[])
{
    const char *host, *port;
    char *line = NULL, *req = NULL;
    size_t line_cap = 0;
    ssize_t line_len;
    unsigned long seq = 0;
    int fd, i, status = 0;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    i = parse_flags(argc, argv);
    client_args(argc - i + 1, argv + i - 1, usage, &host, &port);
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Two clients started at once still get different jitter. */
    jitter_state = mix_seed((uint32_t)getpid() ^ (uint32_t)now_ms());

    fd = udp_open(host, port, 0, &server, &server_len);
    if (fd == -1)
        return 1;
    format_addr((struct sockaddr *)&server, server_len, server_text);
    /* No packet is sent: the kernel just records the peer. */
    if (connected && connect(fd, (struct sockaddr *)&server, server_len) == -1) {
        warn_errno("connect %s", server_text);
        close(fd);
        return 1;
    }

    while ((line_len = getline(&line, &line_cap, stdin)) != -1) {
        size_t text_len = (size_t)line_len, head;
        ssize_t reply_len;
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
        reply_len = request(fd, req, head + text_len, seq);
        if (reply_len == -1) {
            status = 1;
            break;
        }
        /* The reply's text, which an echo server makes the request's. */
        fwrite(reply + head, 1, (size_t)reply_len - head, stdout);
        putchar('\n');
    }
    if (status == 0 && ferror(stdin)) {
        warn_errno("read standard input");
        status = 1;
    }
    free(line);
    free(req);
    close(fd);
    return status;
}

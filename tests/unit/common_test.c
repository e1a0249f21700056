/*
 * Unit tests for common/: one line per check, "ok N - what" or
 * "not ok N - what", and exit status 1 if any check failed. The suite runs
 * it plainly and again under the fault-injection library, which turns every
 * socket transfer into 1-byte pieces and interrupts some calls with EINTR.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int checks, failures;

static void check(int ok, const char *what)
{
    checks++;
    if (!ok)
        failures++;
    printf("%sok %d - %s\n", ok ? "" : "not ", checks, what);
}

static void test_parse_port(void)
{
    static const char *bad[] = {"", "abc", "-1", "+1", " 80", "80 ", "9000x",
                                "65536", "70000", "0065536", "99999999999999999999"};
    unsigned short port = 1;

    check(parse_port("0", &port) == 0 && port == 0, "parse_port accepts 0");
    check(parse_port("9000", &port) == 0 && port == 9000, "parse_port accepts 9000");
    check(parse_port("65535", &port) == 0 && port == 65535, "parse_port accepts 65535");
    check(parse_port("00080", &port) == 0 && port == 80, "parse_port accepts leading zeros");
    check(parse_port("09000", &port) == 0 && port == 9000, "parse_port accepts 09000");
    check(parse_port("00009000", &port) == 0 && port == 9000,
          "parse_port accepts leading zeros at any length: 00009000");
    check(parse_port("000000", &port) == 0 && port == 0, "parse_port accepts 000000");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[80];

        port = 1234;
        snprintf(what, sizeof what, "parse_port rejects '%s'", bad[i]);
        check(parse_port(bad[i], &port) == -1 && port == 1234, what);
    }
}

static void test_format_addr(void)
{
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    char buf[ADDR_STRLEN];

    memset(&in4, 0, sizeof in4);
    in4.sin_family = AF_INET;
    in4.sin_port = htons(9000);
    inet_pton(AF_INET, "127.0.0.1", &in4.sin_addr);
    format_addr((struct sockaddr *)&in4, sizeof in4, buf);
    check(strcmp(buf, "127.0.0.1:9000") == 0, "format_addr prints 127.0.0.1:9000");

    memset(&in6, 0, sizeof in6);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(65535);
    inet_pton(AF_INET6, "::1", &in6.sin6_addr);
    format_addr((struct sockaddr *)&in6, sizeof in6, buf);
    check(strcmp(buf, "[::1]:65535") == 0, "format_addr brackets IPv6: [::1]:65535");
}

static void test_errno_name(void)
{
    check(strcmp(errno_name(EADDRINUSE), "EADDRINUSE") == 0, "errno_name(EADDRINUSE)");
    check(strcmp(errno_name(ECONNRESET), "ECONNRESET") == 0, "errno_name(ECONNRESET)");
    check(errno_name(0) == NULL, "errno_name(0) is NULL");
}

/* A loopback connection, so that the fault library sees real sockets. */
static int connected_pair(int fds[2])
{
    int listener = tcp_listen("127.0.0.1", "0", 1);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char port[8];

    if (listener == -1 || getsockname(listener, (struct sockaddr *)&ss, &len) == -1)
        return -1;
    snprintf(port, sizeof port, "%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    fds[0] = tcp_connect("127.0.0.1", port);
    do
        fds[1] = accept(listener, NULL, NULL);
    while (fds[1] == -1 && errno == EINTR);
    close(listener);
    return fds[0] == -1 || fds[1] == -1 ? -1 : 0;
}

static void test_full_io(void)
{
    char out[20000], in[sizeof out + 10];
    int fds[2];

    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (char)(i * 7 + i / 251);   /* NUL bytes included */
    if (connected_pair(fds) == -1) {
        check(0, "a loopback connection for the I/O tests");
        return;
    }
    check(write_all(fds[0], out, sizeof out, NULL) == 0, "write_all sends 20000 bytes");
    check(read_full(fds[1], in, sizeof out, NULL) == (ssize_t)sizeof out &&
              memcmp(in, out, sizeof out) == 0,
          "read_full receives them all, unchanged");
    check(write_all(fds[0], out, 10, NULL) == 0 && shutdown(fds[0], SHUT_WR) == 0,
          "write 10 bytes, then half-close");
    check(read_full(fds[1], in, sizeof in, NULL) == 10, "read_full stops short at end of file");
    check(read_full(fds[1], in, sizeof in, NULL) == 0, "read_full returns 0 after end of file");
    close(fds[0]);
    close(fds[1]);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* stderr into a temporary file, to count the lines a call logs. */
static int saved_stderr = -1;
static FILE *captured;

static void capture_stderr(void)
{
    captured = tmpfile();
    saved_stderr = dup(STDERR_FILENO);
    if (captured != NULL && saved_stderr != -1)
        dup2(fileno(captured), STDERR_FILENO);
}

/*
 * Restores stderr and copies what was captured to it. Returns the number of
 * lines holding text; captured_count is the number of lines in all.
 */
static int captured_count;

static int captured_lines(const char *text)
{
    char line[600];
    int count = 0;

    captured_count = 0;
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    if (captured == NULL)
        return -1;
    rewind(captured);
    while (fgets(line, sizeof line, captured) != NULL) {
        fputs(line, stderr);
        captured_count++;
        count += strstr(line, text) != NULL;
    }
    fclose(captured);
    return count;
}

/* accept_client() until it returns something other than EINTR. */
static int accept_retrying(int listener, struct sockaddr_storage *peer, socklen_t *len)
{
    int fd;

    do
        fd = accept_client(listener, peer, len);
    while (fd == -1 && errno == EINTR);
    return fd;
}

/*
 * So few descriptors that not even the spare fits. Runs before any other
 * accept_client() call, which would have opened the spare already.
 */
static void test_accept_no_spare(void)
{
    int listener = tcp_listen("127.0.0.1", "0", 8);
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    struct rlimit saved, tight;
    char port[8];
    int client, fd, highest, held, ok = 1;
    double start, nonblocking_time, blocking_time;

    if (listener == -1 || getsockname(listener, (struct sockaddr *)&peer, &len) == -1 ||
        getrlimit(RLIMIT_NOFILE, &saved) == -1) {
        check(0, "a listener for the accept_client tests");
        return;
    }
    snprintf(port, sizeof port, "%u", ntohs(((struct sockaddr_in *)&peer)->sin_port));
    client = tcp_connect("127.0.0.1", port);
    capture_stderr();
    highest = dup(0);                            /* the next free descriptor */
    close(highest);
    tight = saved;
    tight.rlim_cur = (rlim_t)highest;
    setrlimit(RLIMIT_NOFILE, &tight);

    fcntl(listener, F_SETFL, O_NONBLOCK);
    start = now();
    for (int i = 0; i < 3; i++) {
        fd = accept_retrying(listener, &peer, &len);
        ok = ok && fd == -1 && errno == EMFILE;
    }
    nonblocking_time = now() - start;
    fcntl(listener, F_SETFL, 0);
    start = now();
    fd = accept_retrying(listener, &peer, &len);
    ok = ok && fd == -1 && errno == EMFILE;
    blocking_time = now() - start;
    setrlimit(RLIMIT_NOFILE, &saved);

    check(ok, "no room even for the spare: accept_client fails with EMFILE");
    check(nonblocking_time < 0.1,
          "...at once on a non-blocking listener (three calls in under ACCEPT_PAUSE_MS)");
    check(blocking_time >= 0.08 && blocking_time < 1.0,
          "...after a pause of about ACCEPT_PAUSE_MS on a blocking one");
    fd = accept_retrying(listener, &peer, &len);
    check(fd != -1, "descriptors back: the client that waited is accepted");
    held = captured_lines("accept: 3 more like the last line held back");
    check(captured_count == 2 && held == 1,
          "four failures within a second log one line; the next client, how many were held back");
    if (fd != -1)
        close(fd);
    close(client);
    close(listener);
}

/* Out of descriptors for real: the limit lowered to what is already open. */
static void test_accept_client(void)
{
    int listener = tcp_listen("127.0.0.1", "0", 8);
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    struct rlimit saved, tight;
    char port[8], byte, addr[ADDR_STRLEN];
    int c1, c2, a1, a2, highest;

    if (listener == -1 || getsockname(listener, (struct sockaddr *)&peer, &len) == -1 ||
        getrlimit(RLIMIT_NOFILE, &saved) == -1) {
        check(0, "a listener for the accept_client tests");
        return;
    }
    snprintf(port, sizeof port, "%u", ntohs(((struct sockaddr_in *)&peer)->sin_port));
    c1 = tcp_connect("127.0.0.1", port);
    c2 = tcp_connect("127.0.0.1", port);
    do                                           /* also opens the reserve */
        a1 = accept_client(listener, &peer, &len);
    while (a1 == -1 && errno == EINTR);
    check(a1 != -1 && strncmp(format_addr((struct sockaddr *)&peer, len, addr),
                              "127.0.0.1:", 10) == 0,
          "accept_client accepts and reports the client's address");

    highest = dup(0);                            /* the next free descriptor */
    close(highest);
    tight = saved;
    tight.rlim_cur = (rlim_t)highest;
    setrlimit(RLIMIT_NOFILE, &tight);
    do
        a2 = accept_client(listener, &peer, &len);
    while (a2 == -1 && errno == EINTR);
    check(a2 == -1 && errno == EMFILE, "out of descriptors, accept_client fails with EMFILE");
    check(read_full(c2, &byte, 1, NULL) == 0, "...and the refused client sees end of file, not a hang");
    setrlimit(RLIMIT_NOFILE, &saved);
    close(c1);
    close(c2);
    close(a1);
    close(listener);
}

int main(int argc, char *argv[])
{
    (void)argc;
    set_progname(argv[0]);
    test_parse_port();
    test_format_addr();
    test_errno_name();
    test_full_io();
    test_accept_no_spare();
    test_accept_client();
    printf("1..%d\n", checks);
    return failures == 0 ? 0 : 1;
}

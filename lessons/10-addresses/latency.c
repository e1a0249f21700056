/*
 * Lesson 10 latency: the round-trip time of a Unix stream socket against
 * TCP over loopback, on this machine, measured the same way.
 *
 *     usage: latency [-n ROUNDS] [-s SIZE]
 *
 * For each transport a child process echoes, and the parent sends SIZE
 * bytes (default 64) and waits for them to come back, ROUNDS times
 * (default 10000), timing each round. It prints the median and the fastest
 * round. Unix: a socketpair(), which is a connected Unix stream socket like
 * one accept() gives. TCP: a real connection to 127.0.0.1, with
 * TCP_NODELAY (lesson 06) so that no round waits on Nagle.
 *
 * Numbers on a shared machine swing: run it a few times, and try
 * `taskset -c 0 ./lesson10/latency` to keep both ends on one CPU.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "[-n ROUNDS] [-s SIZE]";

#define MAX_ROUNDS 1000000
#define MAX_SIZE 65536

static unsigned long rounds = 10000;
static size_t size = 64;
static char buf[MAX_SIZE];

/* The echoing end: until end of file. */
static _Noreturn void echoer(int fd)
{
    ssize_t n;

    while ((n = read_full(fd, buf, size, NULL)) == (ssize_t)size)
        if (write_all(fd, buf, size, NULL) == -1)
            break;
    _exit(0);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* ROUNDS round trips over fd; prints the median and fastest in µs. */
static int measure(const char *name, int fd)
{
    double *us = malloc(rounds * sizeof *us);

    if (us == NULL)
        die_errno("malloc");
    memset(buf, 'x', size);
    for (unsigned long i = 0; i < rounds; i++) {
        struct timespec a, b;

        clock_gettime(CLOCK_MONOTONIC, &a);
        if (write_all(fd, buf, size, NULL) == -1 ||
            read_full(fd, buf, size, NULL) != (ssize_t)size) {
            warn_errno("%s: round %lu", name, i + 1);
            free(us);
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        us[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
    }
    qsort(us, rounds, sizeof *us, by_value);
    printf("%-13s %lu rounds of %zu bytes: median %.1f us, fastest %.1f us\n",
           name, rounds, size, us[rounds / 2], us[0]);
    free(us);
    return 0;
}

/* Forks an echoer on one end, measures on the other, reaps the child. */
static int run(const char *name, int mine, int theirs)
{
    pid_t pid = fork();
    int rc;

    if (pid == -1)
        die_errno("fork");
    if (pid == 0) {
        close(mine);
        echoer(theirs);
    }
    close(theirs);
    rc = measure(name, mine);
    close(mine);                    /* the echoer reads end of file */
    waitpid(pid, NULL, 0);
    return rc;
}

/* A TCP connection over loopback: both ends, accepted and connected. */
static void tcp_pair(int sv[2])
{
    char port[8];
    const int on = 1;
    struct sockaddr_in self;
    socklen_t len = sizeof self;
    int listen_fd = tcp_listen("127.0.0.1", "0", 1);

    if (listen_fd == -1 || getsockname(listen_fd, (struct sockaddr *)&self, &len) == -1)
        exit(1);
    snprintf(port, sizeof port, "%u", (unsigned)ntohs(self.sin_port));
    sv[0] = tcp_connect("127.0.0.1", port);
    if (sv[0] == -1)
        exit(1);
    sv[1] = accept(listen_fd, NULL, NULL);
    if (sv[1] == -1)
        die_errno("accept");
    close(listen_fd);
    for (int i = 0; i < 2; i++)
        if (setsockopt(sv[i], IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == -1)
            die_errno("setsockopt TCP_NODELAY");
}

static unsigned long number(const char *s, unsigned long lo, unsigned long hi)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (*s < '0' || *s > '9' || *end != '\0' || v < lo || v > hi)
        usage_error(usage, "invalid number '%s': expected %lu to %lu", s, lo, hi);
    return v;
}

int main(int argc, char *argv[])
{
    int opt, sv[2], rc;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    opterr = 0;
    while ((opt = getopt(argc, argv, "n:s:")) != -1) {
        if (opt == 'n')
            rounds = number(optarg, 1, MAX_ROUNDS);
        else if (opt == 's')
            size = number(optarg, 1, MAX_SIZE);
        else
            usage_error(usage, "unknown option '-%c'", optopt);
    }
    if (optind != argc)
        usage_error(usage, "too many arguments");

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
        die_errno("socketpair");
    rc = run("unix stream", sv[0], sv[1]);
    tcp_pair(sv);
    rc |= run("tcp loopback", sv[0], sv[1]);
    return rc;
}

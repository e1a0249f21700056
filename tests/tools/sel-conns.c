/*
 * sel-conns - opens N connections to an echo server at once, holds them,
 * and on SIGUSR1 reports which ones the server serves and which it refused.
 *
 *     usage: sel-conns HOST PORT N
 *
 * Lines on stdout, for a test to follow:
 *   "connected N"          all N connections are open (raising this
 *                          process's descriptor limit as needed)
 *   "waiting"              now send SIGUSR1 once the server has dealt with
 *                          every one of them (its log says so)
 *   "served S refused R reset X silent Y"
 *                          S echoed a ping, R had been closed with an
 *                          orderly end of file, X were reset, Y answered
 *                          nothing within the deadline
 * Then every connection is closed and it exits 0 (1 on a setup failure).
 *
 * Refused connections are detected before anything is sent on them: data
 * sent to a socket the server has closed would make it answer with a reset,
 * and the test wants to see the server's clean close.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char usage[] = "HOST PORT N";

enum state { OPEN, SERVED, REFUSED, RESET, SILENT };

/* Room for n more descriptors than stdin, stdout and stderr. */
static void raise_fd_limit(rlim_t n)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        die_errno("getrlimit");
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= n + 16)
        return;
    rl.rlim_cur = n + 16;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
        rl.rlim_max = rl.rlim_cur;      /* only root may do this */
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        die_errno("setrlimit RLIMIT_NOFILE %lu", (unsigned long)rl.rlim_cur);
}

/* What a read without waiting says about a connection nobody wrote on. */
static enum state peek_state(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);

    if (n == 0)
        return REFUSED;
    if (n == -1 && errno == ECONNRESET)
        return RESET;
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return OPEN;
    return SILENT;                  /* data nobody asked for, or an error */
}

/* Sends a ping and waits up to 10 s for the same bytes back. */
static enum state ping(int fd)
{
    static const char msg[] = "ping\n";
    char buf[sizeof msg - 1];
    size_t got = 0;

    if (write_all(fd, msg, sizeof buf, NULL) == -1)
        return errno == ECONNRESET || errno == EPIPE ? RESET : SILENT;
    while (got < sizeof buf) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, 10000) <= 0)
            return SILENT;
        n = read(fd, buf + got, sizeof buf - got);
        if (n == 0)
            return REFUSED;
        if (n == -1)
            return errno == ECONNRESET ? RESET : SILENT;
        got += (size_t)n;
    }
    return memcmp(buf, msg, sizeof buf) == 0 ? SERVED : SILENT;
}

int main(int argc, char *argv[])
{
    unsigned long n, count[SILENT + 1] = {0};
    int *fds;
    sigset_t usr1;
    int sig;

    set_progname(argv[0]);
    if (argc != 4 || (n = strtoul(argv[3], NULL, 10)) == 0)
        usage_error(usage, "expected a host, a port and a count");
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);    /* taken by sigwait() below */
    raise_fd_limit(n);

    fds = malloc(n * sizeof *fds);
    if (fds == NULL)
        die_errno("malloc");
    for (unsigned long i = 0; i < n; i++) {
        fds[i] = tcp_connect(argv[1], argv[2]);
        if (fds[i] == -1)
            return 1;
    }
    printf("connected %lu\nwaiting\n", n);
    if (sigwait(&usr1, &sig) != 0)
        die_errno("sigwait");

    for (unsigned long i = 0; i < n; i++) {
        enum state s = peek_state(fds[i]);

        count[s == OPEN ? ping(fds[i]) : s]++;
    }
    printf("served %lu refused %lu reset %lu silent %lu\n",
           count[SERVED], count[REFUSED], count[RESET], count[SILENT]);
    for (unsigned long i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    return 0;
}

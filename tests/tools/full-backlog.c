/*
 * full-backlog - a listening socket that answers nobody: its queue of
 * connections waiting for accept() is full, and it never accepts.
 *
 *     usage: full-backlog [ADDRESS]
 *
 * Linux drops a SYN that reaches a listener whose accept queue is full
 * (`nstat -az TcpExtListenOverflows` counts them). The client hears nothing,
 * sends its SYN again 1, 3, 7... seconds later, and its connect() hangs for
 * about two minutes, as it would towards a host that drops packets. That is
 * the connect a connect timeout is for, made on loopback, without root, and
 * without a packet leaving the machine.
 *
 * It listens on ADDRESS (default 127.0.0.1), on a port the kernel chooses,
 * with a backlog of 1, connects to itself until the queue is full, and only
 * then prints "listening on ADDR:PORT". It waits for SIGINT or SIGTERM and
 * exits 0. Exit status 1 if the queue cannot be filled.
 */
#define _POSIX_C_SOURCE 200809L
#define _GNU_SOURCE /* struct tcp_info, Linux's: musl shows it only with this */

#include "socklab.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILLERS 8

static const char usage[] = "[ADDRESS]";

/*
 * On a listening socket, TCP_INFO reports the accept queue: tcpi_unacked
 * holds how many connections wait in it, tcpi_sacked the backlog (as the
 * Recv-Q and Send-Q columns of `ss -lt` do).
 */
static int queue_info(int fd, unsigned *waiting, unsigned *backlog)
{
    struct tcp_info info;
    socklen_t len = sizeof info;

    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == -1)
        return -1;
    *waiting = info.tcpi_unacked;
    *backlog = info.tcpi_sacked;
    return 0;
}

/*
 * A connection to ourselves: 0 once the listener counts it in its queue,
 * 1 when it is not answered within 2 s (the queue was full already: a kernel
 * that counts "full" from n = backlog, not n > backlog), -1 on error. The
 * filler stays open either way, in *fd_out (-1 if socket() failed).
 */
static int add_filler(int listen_fd, const struct sockaddr_storage *addr,
                      socklen_t len, int *fd_out, unsigned before)
{
    struct pollfd p = {.events = POLLOUT};
    unsigned waiting = 0, backlog = 0;
    int fd, rc;

    *fd_out = fd = socket(addr->ss_family, SOCK_STREAM, 0);
    if (fd == -1)
        return -1;
    /* Non-blocking, so that a SYN the listener drops cannot hang us. */
    if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
        return -1;
    if (connect(fd, (const struct sockaddr *)addr, len) == -1 && errno != EINPROGRESS)
        return -1;
    p.fd = fd;
    do
        rc = poll(&p, 1, 2000);
    while (rc == -1 && errno == EINTR);
    if (rc == -1)
        return -1;
    if (rc == 0)
        return 1;
    /* Connected at our end; the listener counts it once our ACK is in. */
    for (int tries = 0; tries < 2000; tries++) {
        struct timespec ms = {0, 1000000};

        if (queue_info(listen_fd, &waiting, &backlog) == -1)
            return -1;
        if (waiting > before)
            return 0;
        nanosleep(&ms, NULL);
    }
    errno = ETIMEDOUT;
    return -1;
}

int main(int argc, char *argv[])
{
    const char *host = "127.0.0.1";
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    char shown[ADDR_STRLEN];
    int listen_fd, fillers[MAX_FILLERS], n = 0, status = 1;
    unsigned waiting = 0, backlog = 0;
    sigset_t stops, old;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    if (argc > 2)
        usage_error(usage, "too many arguments");
    if (argc == 2)
        host = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Blocked until sigsuspend(), so that a stop cannot slip in before it. */
    catch_stop_signals();
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &stops, &old) == -1)
        die_errno("sigprocmask");

    listen_fd = tcp_listen(host, "0", 1);
    if (listen_fd == -1)
        return 1;
    if (getsockname(listen_fd, (struct sockaddr *)&addr, &len) == -1) {
        warn_errno("getsockname");
        goto out;
    }
    format_addr((struct sockaddr *)&addr, len, shown);

    for (;;) {
        int rc;

        if (queue_info(listen_fd, &waiting, &backlog) == -1) {
            warn_errno("getsockopt TCP_INFO");
            goto out;
        }
        if (waiting > backlog)
            break;                  /* Linux's test for a full queue */
        if (n == MAX_FILLERS) {
            warn_msg("%s: %u connections wait, the queue is still not full", shown, waiting);
            goto out;
        }
        rc = add_filler(listen_fd, &addr, len, &fillers[n++], waiting);
        if (rc == -1) {
            warn_errno("connect %s", shown);
            goto out;
        }
        if (rc == 1)
            break;
    }
    printf("listening on %s\n", shown);

    while (!stop_requested)
        sigsuspend(&old);
    status = 0;
out:
    while (n > 0)
        close(fillers[--n]);
    close(listen_fd);
    return status;
}

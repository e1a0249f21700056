/*
 * Lesson 10 handoff: one process accepts, workers serve, and each TCP
 * connection is passed from the first to a worker over a Unix socket.
 *
 *     usage: handoff [-w WORKERS] [-x EXTRA] PORT [ADDRESS]
 *
 * The acceptor starts WORKERS (default 2) worker processes, each with a
 * socketpair(), then accepts clients and hands each connection's descriptor
 * to the next worker in turn (SCM_RIGHTS, with the client's address as the
 * message's bytes), and closes its own copy. The worker serves the client
 * directly with lesson 02's echo: the acceptor never sees its bytes. This is
 * the "descriptor passing" design of Stevens's server comparison.
 *
 * A worker trusts nothing it receives: a truncated control message
 * (MSG_CTRUNC), descriptors beyond the one expected, and one that is not a
 * socket are closed and logged, never leaked. -x EXTRA makes the acceptor
 * send EXTRA unexpected descriptors (of /dev/null) with each connection,
 * to watch that happen: up to MAX_FDS in all fit the worker's buffer and
 * the extras are closed; more are cut short by the kernel (MSG_CTRUNC), and
 * the worker then drops the whole message.
 *
 * SIGTERM or Ctrl-C: the acceptor passes the stop on to its workers, waits
 * for them, and exits 0.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "log.h"
#include "pass.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] = "[-w WORKERS] [-x EXTRA] PORT [ADDRESS]";

#define MAX_WORKERS 16

/* Lesson 02's echo, until the client closes or a stop. */
static void echo(int fd, const char *peer)
{
    char buf[4096];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);

        if (n == 0)
            return;
        if (n == -1) {
            if (errno == EINTR && !stop_requested)
                continue;
            if (errno != EINTR)
                warn_errno("read %s", peer);
            return;
        }
        if (write_all(fd, buf, (size_t)n, &stop_requested) == -1) {
            if (errno != EINTR)
                warn_errno("write %s", peer);
            return;
        }
    }
}

static int worker_main(int chan, int worker)
{
    char addr[ADDR_STRLEN];

    while (!stop_requested) {
        int fd = receive_fd(chan, worker, addr, sizeof addr);

        if (fd == -1)
            break;
        if (fd == -2)
            continue;
        log_line("worker %d: serving %s", worker, addr);
        echo(fd, addr);
        close(fd);
        log_line("worker %d: %s disconnected", worker, addr);
    }
    close(chan);
    return 0;
}

/*
 * Waits for the workers, which a stop signal reaches as well. One that is
 * still there after half a second (stuck writing a log line to a pipe
 * nobody reads, say) is killed: the stop must not hang on it.
 */
static void stop_workers(pid_t *pids, int workers)
{
    for (int turn = 0, left = workers; left > 0; turn++) {
        left = 0;
        for (int i = 0; i < workers; i++) {
            pid_t r;

            if (pids[i] == 0)
                continue;
            r = waitpid(pids[i], NULL, turn < 50 ? WNOHANG : 0);
            if (r == 0 || (r == -1 && errno == EINTR)) {
                left++;
                if (turn == 49)
                    kill(pids[i], SIGKILL);
            } else {
                pids[i] = 0;        /* reaped (or not ours: ECHILD) */
            }
        }
        if (left > 0 && turn < 50)
            poll(NULL, 0, 10);
    }
}

static unsigned long count_arg(const char *s, unsigned long max, const char *what)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (*s < '0' || *s > '9' || *end != '\0' || v > max)
        usage_error(usage, "invalid %s '%s': expected 0 to %lu", what, s, max);
    return v;
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    pid_t pids[MAX_WORKERS];
    int chans[MAX_WORKERS], workers = 2, extra = 0, opt, listen_fd, next = 0;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    opterr = 0;
    while ((opt = getopt(argc, argv, "+w:x:")) != -1) {
        if (opt == 'w' && (workers = (int)count_arg(optarg, MAX_WORKERS, "worker count")) == 0)
            usage_error(usage, "invalid worker count '0': expected 1 to %d", MAX_WORKERS);
        else if (opt == 'x')
            extra = (int)count_arg(optarg, 8, "extra count");
        else if (opt == '?' && optopt >= '0' && optopt <= '9')   /* "-1": a port */
            usage_error(usage, "invalid port '%s': expected a number from 0 to 65535",
                        argv[optind - 1]);
        else if (opt == '?')
            usage_error(usage, "unknown option '-%c'", optopt);
    }
    server_args(argc - optind + 1, argv + optind - 1, usage, &port, &host);
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();

    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;
    for (int i = 0; i < workers; i++) {
        int sv[2];

        /* Datagrams: each message is one connection, with its descriptor. */
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == -1)
            die_errno("socketpair");
        pids[i] = fork();
        if (pids[i] == -1)
            die_errno("fork");
        if (pids[i] == 0) {
            /* The worker keeps only its end: no listener, no other channel. */
            close(listen_fd);
            close(sv[0]);
            for (int j = 0; j < i; j++)
                close(chans[j]);
            return worker_main(sv[1], i + 1);
        }
        close(sv[1]);
        chans[i] = sv[0];
    }
    printf("listening on %s\n", local_addr(listen_fd, addr));

    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t peer_len;
        int fds[1 + 8], n = 1;
        int conn_fd = accept_client(listen_fd, &peer, &peer_len);

        if (conn_fd == -1) {
            if (errno != EINTR && errno != EMFILE)
                warn_errno("accept");
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        fds[0] = conn_fd;
        while (n <= extra && (fds[n] = open("/dev/null", O_RDONLY)) != -1)
            n++;
        log_line("%s connected", addr);
        if (send_fds(chans[next], addr, fds, n) == -1 && errno != EINTR)
            warn_errno("sendmsg to worker %d", next + 1);
        /* The worker has its own copy now (or none): ours goes. */
        while (n > 0)
            close(fds[--n]);
        next = (next + 1) % workers;
    }

    for (int i = 0; i < workers; i++) {
        kill(pids[i], SIGTERM);
        close(chans[i]);
    }
    stop_workers(pids, workers);
    close(listen_fd);
    return 0;
}

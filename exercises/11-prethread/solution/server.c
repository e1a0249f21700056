/*
 * Exercise 11-prethread, reference solution: lesson 04's echo server as a
 * pre-threaded pool, each thread accepting for itself.
 *
 *     usage: server [-n THREADS] PORT [ADDRESS]
 *
 * THREADS workers (4 without -n) are created once, before the server says
 * it listens, and live as long as it does. Each runs lesson 04's whole
 * life of a client's thread in a loop: accept a client, echo, close,
 * accept the next. No thread is created per client, so a connection
 * costs no pthread_create(); the price is a fixed capacity: with every
 * worker busy, a new client's connection waits in the listen queue (its
 * connect() succeeds, nobody reads its bytes) until a worker comes back
 * to accept().
 *
 * All the workers block in accept() on the same listening socket, with no
 * lock around it. That is safe where accept() is a system call: the
 * kernel hands each connection to exactly one caller, and Linux wakes
 * only one waiting thread per connection (no thundering herd). Some
 * older systems needed a mutex, or a file lock between processes, around
 * accept(): where accept() was a library function over STREAMS, callers
 * at the same time could fail, and where the kernel woke every sleeper
 * for each connection, N workers all woke for one client.
 *
 * Signals: the main thread blocks SIGINT and SIGTERM before it creates the
 * workers, which inherit the mask: a stop signal can then only reach the
 * main thread, which waits for it in sigsuspend(). Returning from main()
 * ends the process and every worker with it, as lesson 04's clients'
 * threads did.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "[-n THREADS] PORT [ADDRESS]";

/* Workers without -n, and the most -n takes. */
#define DEFAULT_THREADS 4
#define MAX_THREADS 1000

/*
 * Each thread's stack. The default is the stack limit (ulimit -s, 8 MiB on
 * most Linux systems) of address space per thread; echo() needs a few KiB,
 * and 64 KiB leaves room for libc and the sanitizers. Build with
 * -DSTACK_SIZE=0 to keep the default and compare (docs/04-threads.md).
 */
#ifndef STACK_SIZE
#define STACK_SIZE (64 * 1024)
#endif

/*
 * The listening socket, set by main() before it creates the workers and
 * only read after that: pthread_create() orders the write before every
 * worker's reads, so nothing more is needed to share it.
 */
static int listen_fd = -1;

/*
 * accept_client() keeps one reserve descriptor and a log clock for the
 * whole process, and must be called by one thread at a time.
 */
static pthread_mutex_t refuse_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Echoes until the client closes. Whatever goes wrong ends this client's
 * session only: the caller goes back to accept() for the next one.
 */
static void echo(int fd, const char *peer)
{
    char buf[4096];

    for (;;) {
        /* Whatever has arrived, up to a buffer: not a line, not a message. */
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
        if (write_all(fd, buf, (size_t)n, &stop_requested) == -1) {
            if (errno != EINTR)
                warn_errno("write %s", peer);  /* EPIPE: the client left */
            return;
        }
    }
}

/*
 * One log line in one write(2), without stdio's lock. A printf() holds
 * stdout's lock while it writes: with stdout on a pipe nobody reads, a
 * worker stuck there would keep every other worker waiting for the lock.
 * Each worker stuck in its own write() holds up only its own client.
 */
static void log_line(const char *addr, const char *event)
{
    char line[ADDR_STRLEN + 16];
    int n = snprintf(line, sizeof line, "%s %s\n", addr, event);

    if (n > 0 && (size_t)n < sizeof line && write(STDOUT_FILENO, line, (size_t)n) == -1)
        return;                     /* no log left: the line is lost */
}

/*
 * The next client, in this worker. A plain accept() first, in every worker
 * at once: the kernel gives each connection to one of them. Only out of
 * descriptors (EMFILE, ENFILE) does it take the lock and let
 * accept_client() refuse a client or pause, so that no worker spins; the
 * other workers meanwhile wait for the lock, and the clients in the queue.
 */
static int next_client(struct sockaddr_storage *peer, socklen_t *peer_len)
{
    int fd, err;

    *peer_len = sizeof *peer;
    fd = accept(listen_fd, (struct sockaddr *)peer, peer_len);
    if (fd != -1 || (errno != EMFILE && errno != ENFILE))
        return fd;
    pthread_mutex_lock(&refuse_lock);
    fd = accept_client(listen_fd, peer, peer_len);
    err = errno;
    pthread_mutex_unlock(&refuse_lock);
    errno = err;
    return fd;
}

/* A worker: one client after another, for as long as the server runs. */
static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t peer_len;
        char addr[ADDR_STRLEN];
        int fd = next_client(&peer, &peer_len);

        if (fd == -1) {
            /* ECONNABORTED: the client left while queued; EMFILE: refused */
            if (errno != EINTR && errno != EMFILE && errno != ECONNABORTED)
                warn_errno("accept");
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        log_line(addr, "connected");
        echo(fd, addr);
        close(fd);
        log_line(addr, "disconnected");
    }
    return NULL;
}

/*
 * The stack asked for, but no less than the platform's minimum (glibc's is
 * 16 KiB on x86-64 and 128 KiB on ARM64, where 64 KiB fails with EINVAL),
 * in whole pages, as some systems require.
 */
static size_t stack_size(void)
{
    long min = sysconf(_SC_THREAD_STACK_MIN);
    long page = sysconf(_SC_PAGESIZE);
    size_t size = STACK_SIZE;

    if (min > 0 && (size_t)min > size)
        size = (size_t)min;
    if (page > 0)
        size = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
    return size;
}

/* Detached (nobody joins these threads), with a small stack. */
static void thread_attributes(pthread_attr_t *attr)
{
    int err = pthread_attr_init(attr);

    if (err == 0)
        err = pthread_attr_setdetachstate(attr, PTHREAD_CREATE_DETACHED);
    if (err == 0 && STACK_SIZE > 0)
        err = pthread_attr_setstacksize(attr, stack_size());
    if (err != 0) {
        warn_err(err, "pthread_attr");
        exit(1);
    }
}

/*
 * "-n 8": the whole string, digits only, 1 to MAX_THREADS. strtol() would
 * take " 8", "+8" and "8x" without a word, and atoi() "abc" as 0.
 */
static int parse_threads(const char *s)
{
    const char *p = s;
    long n = 0;

    /* Stops past MAX_THREADS, long before n could overflow. */
    while (*p >= '0' && *p <= '9' && n <= MAX_THREADS)
        n = n * 10 + (*p++ - '0');
    if (p == s || *p != '\0' || n < 1 || n > MAX_THREADS)
        usage_error(usage, "invalid number of threads '%s': expected a number from 1 to %d",
                    s, MAX_THREADS);
    return (int)n;
}

/* Options first, then lesson 04's "PORT [ADDRESS]" with server_args(). */
static void parse_args(int argc, char *argv[], int *threads,
                       const char **port, const char **host)
{
    int opt;

    if (wants_help(argc, argv)) {
        print_usage(usage);
        exit(0);
    }
    *threads = DEFAULT_THREADS;
    /* The leading ':' lets the messages below replace getopt()'s own. */
    while ((opt = getopt(argc, argv, ":n:")) != -1) {
        switch (opt) {
        case 'n':
            *threads = parse_threads(optarg);
            break;
        case ':':
            usage_error(usage, "option -%c needs a value", optopt);
        default:
            usage_error(usage, "unknown option '-%c'", optopt);
        }
    }
    /*
     * server_args() reads its operands from argv[1] on: hand it the rest of
     * the command line, with the word before it standing in for argv[0].
     */
    server_args(argc - optind + 1, argv + optind - 1, usage, port, host);
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    int threads, i;
    pthread_attr_t attr;
    sigset_t stop_signals, old_mask;

    set_progname(argv[0]);
    parse_args(argc, argv, &threads, &port, &host);
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();
    thread_attributes(&attr);
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);

    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;

    /*
     * Blocked from here on in the main thread, and so in every worker: a
     * stop signal waits, pending, until sigsuspend() below lets it in. One
     * that comes before sigsuspend() is not lost, as it would be before a
     * pause().
     */
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
    for (i = 0; i < threads; i++) {
        pthread_t thread;
        int err = pthread_create(&thread, &attr, worker, NULL);

        if (err != 0) {     /* EAGAIN: out of threads or memory */
            warn_err(err, "pthread_create (worker %d of %d)", i + 1, threads);
            return 1;
        }
    }
    pthread_attr_destroy(&attr);
    printf("listening on %s\n", local_addr(listen_fd, addr));

    while (!stop_requested)
        sigsuspend(&old_mask);      /* returns after the handler has run */

    close(listen_fd);
    return 0;
}

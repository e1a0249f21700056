/*
 * Lesson 11 prethread: lesson 04's echo server with its threads made in
 * advance, and a bounded queue between the accepting thread and them.
 *
 *     usage: prethread [-n THREADS] [-q QUEUE] PORT [ADDRESS]
 *
 * Lesson 04 starts a thread per client. Here THREADS workers (4 by default)
 * start once and wait. The main thread accepts, and puts each connection
 * in a queue of QUEUE places (16 by default); a worker takes the oldest,
 * serves it with lesson 02's echo(), and comes back for the next one. One
 * mutex guards the queue; two condition variables say "not empty" (for the
 * workers) and "not full" (for the accepting thread).
 *
 * A full queue stops the accepting thread before accept(): new clients wait
 * in the kernel's listen queue, and once that is full their connect()
 * waits too. That is backpressure: the server's memory stays bounded and
 * the clients slow down, instead of a queue that grows until it fails.
 *
 * SIGINT or SIGTERM stops the accepting thread; returning from main() ends
 * the process and every worker, as in lesson 04.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "[-n THREADS] [-q QUEUE] PORT [ADDRESS]";

/* A connection accepted and not yet taken by a worker. */
struct job {
    int fd;
    char addr[ADDR_STRLEN];
};

/* A ring of size places; count of them, from head on, hold jobs. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    struct job *jobs;
    size_t size, head, count;
} queue = {.lock = PTHREAD_MUTEX_INITIALIZER, .not_empty = PTHREAD_COND_INITIALIZER};

/* Lesson 02's echo(): a session ends on EOF, an error, or a stop signal. */
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

/* One log line in one write(2), without stdio's lock (see lesson 04). */
static void log_line(const char *addr, const char *event)
{
    char line[ADDR_STRLEN + 16];
    int n = snprintf(line, sizeof line, "%s %s\n", addr, event);

    if (n > 0 && (size_t)n < sizeof line && write(STDOUT_FILENO, line, (size_t)n) == -1)
        return;                     /* a stop signal, or no log left: the line is lost */
}

/*
 * A worker: takes the oldest job, serves it, and again. A client that
 * never reads blocks this worker in write(), and only this one.
 */
static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        struct job job;

        pthread_mutex_lock(&queue.lock);
        while (queue.count == 0)    /* a wake-up may find the queue empty */
            pthread_cond_wait(&queue.not_empty, &queue.lock);
        job = queue.jobs[queue.head];
        queue.head = (queue.head + 1) % queue.size;
        queue.count--;
        pthread_cond_signal(&queue.not_full);
        pthread_mutex_unlock(&queue.lock);

        echo(job.fd, job.addr);
        close(job.fd);
        log_line(job.addr, "disconnected");
    }
    return NULL;
}

/*
 * Waits until the queue has a free place; false on a stop signal. A signal
 * handler may not touch a condition variable, and pthread_cond_timedwait()
 * does not return for a signal: it looks at the flag every 100 ms instead.
 */
static int wait_for_room(void)
{
    pthread_mutex_lock(&queue.lock);
    while (queue.count == queue.size && !stop_requested) {
        struct timespec until;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 100 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&queue.not_full, &queue.lock, &until);
    }
    pthread_mutex_unlock(&queue.lock);
    return !stop_requested;
}

/* Only the accepting thread adds, so the place wait_for_room() saw is free. */
static void add_job(int fd, const char *addr)
{
    struct job *job;

    pthread_mutex_lock(&queue.lock);
    job = &queue.jobs[(queue.head + queue.count) % queue.size];
    job->fd = fd;
    memcpy(job->addr, addr, sizeof job->addr);
    queue.count++;
    pthread_cond_signal(&queue.not_empty);
    pthread_mutex_unlock(&queue.lock);
}

static long number_flag(const char *flag, const char *s, long max)
{
    char *end;
    long n = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || n < 1 || n > max)
        usage_error(usage, "invalid %s '%s': expected 1 to %ld", flag, s, max);
    return n;
}

/*
 * The queue, its timed condition variable, and the workers. The workers
 * are started with the stop signals blocked, so that only the accepting
 * thread receives them (lesson 04); detached: nobody waits for them.
 */
static void start_pool(long threads)
{
    pthread_condattr_t cattr;
    pthread_attr_t attr;
    sigset_t stop_signals, old_mask;
    int err;

    queue.jobs = calloc(queue.size, sizeof *queue.jobs);
    if (queue.jobs == NULL)
        die_errno("calloc");
    /* The 100 ms of wait_for_room() must not stretch when the clock is set. */
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&queue.not_full, &cattr);
    pthread_condattr_destroy(&cattr);

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
    for (long i = 0; i < threads; i++) {
        pthread_t thread;

        err = pthread_create(&thread, &attr, worker, NULL);
        if (err != 0) {             /* EAGAIN: out of threads or memory */
            warn_err(err, "pthread_create");
            exit(1);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    pthread_attr_destroy(&attr);
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    long threads = 4;
    int opt, listen_fd;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    queue.size = 16;
    opterr = 0;
    while ((opt = getopt(argc, argv, "n:q:")) != -1) {
        if (opt == 'n')
            threads = number_flag("-n", optarg, 1024);
        else if (opt == 'q')
            queue.size = (size_t)number_flag("-q", optarg, 65536);
        else if (optopt >= '0' && optopt <= '9')    /* "-1": a port, not a flag */
            usage_error(usage, "invalid port '%s': expected a decimal number from 0 to 65535",
                        argv[optind - 1]);
        else
            usage_error(usage, "unknown option '-%c'", optopt);
    }
    /* The operands, as if they were the whole command line. */
    server_args(argc - optind + 1, argv + optind - 1, usage, &port, &host);
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();

    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;
    start_pool(threads);
    printf("listening on %s\n", local_addr(listen_fd, addr));

    while (wait_for_room()) {
        struct sockaddr_storage peer;
        socklen_t peer_len;
        int conn_fd = accept_client(listen_fd, &peer, &peer_len);

        if (conn_fd == -1) {
            if (errno != EINTR && errno != EMFILE)
                warn_errno("accept");
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        log_line(addr, "connected");
        add_job(conn_fd, addr);
    }

    close(listen_fd);
    return 0;
}

/*
 * Exercise 11-prethread, the starter: lesson 04's thread-per-client echo
 * server, unchanged. The task (README.md in this folder) is to make it a
 * pre-threaded pool:
 *
 *     usage: server [-n THREADS] PORT [ADDRESS]
 *
 * THREADS worker threads (4 without -n), created once at the start, each
 * blocking in accept() itself on the one listening socket, and no thread
 * created per client: a client beyond THREADS waits in the listen queue
 * until a worker is free. Grade your version with
 *
 *     make grade EX=11-prethread
 *     make grade EX=11-prethread VARIANT=tsan
 *
 * What follows is lesson 04's own description.
 *
 * The main thread only accepts: for each client it starts a detached
 * thread, which serves the client with lesson 02's echo(), closes the
 * connection and ends. Threads share the process's memory and descriptor
 * table, so a thread costs far less than lesson 03's process; the price is
 * that anything two threads touch must be shared safely. Sharing the table
 * also means that every client holds one of this process's descriptors:
 * this is the first server that can run out, so it accepts with
 * accept_client() (common/accept.c), which then refuses newcomers cleanly.
 *
 * SIGINT or SIGTERM stops the main thread accepting; returning from main()
 * ends the process, and with it every thread: clients still connected see
 * their connection close.
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

static const char usage[] = "PORT [ADDRESS]";  /* TODO: "[-n THREADS] PORT [ADDRESS]" */

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
 * What a thread needs to know about its client. Each thread gets its own
 * copy on the heap: main() goes on to the next client at once, so nothing
 * of main()'s may be shared with a thread (see "the &conn_fd race").
 */
struct client {
    int fd;
    char addr[ADDR_STRLEN];
};

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
 * thread stuck there would keep the main thread waiting for the lock, deaf
 * to Ctrl-C. A write(2) stuck in the main thread is cut short by the stop
 * signal instead; the line is lost, the server stops.
 */
static void log_line(const char *addr, const char *event)
{
    char line[ADDR_STRLEN + 16];
    int n = snprintf(line, sizeof line, "%s %s\n", addr, event);

    if (n > 0 && (size_t)n < sizeof line && write(STDOUT_FILENO, line, (size_t)n) == -1)
        return;                     /* a stop signal, or no log left: the line is lost */
}

/* A client's thread: serves it, then frees what main() handed over. */
static void *serve(void *arg)
{
    struct client *client = arg;

    echo(client->fd, client->addr);
    close(client->fd);
    log_line(client->addr, "disconnected");
    free(client);
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

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    int listen_fd;
    pthread_attr_t attr;
    sigset_t stop_signals, old_mask;

    set_progname(argv[0]);
    /* TODO: read -n THREADS (getopt), then hand the rest to server_args(). */
    server_args(argc, argv, usage, &port, &host);
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();
    thread_attributes(&attr);
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);

    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;
    printf("listening on %s\n", local_addr(listen_fd, addr));

    /*
     * TODO: start THREADS workers here, once, each running a loop of its
     * own: accept a client, serve it, close it, accept the next. Then the
     * main thread only waits for a stop signal (sigsuspend). Nothing below
     * this loop may create a thread per client any more.
     */
    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t peer_len;
        struct client *client;
        pthread_t thread;
        int err;
        /* Each client holds a descriptor of this process: see common/accept.c. */
        int conn_fd = accept_client(listen_fd, &peer, &peer_len);

        if (conn_fd == -1) {
            if (errno != EINTR && errno != EMFILE)
                warn_errno("accept");
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        log_line(addr, "connected");

        client = malloc(sizeof *client);
        if (client == NULL) {
            warn_errno("malloc %s", addr);
            close(conn_fd);
            log_line(addr, "disconnected");
            continue;
        }
        client->fd = conn_fd;
        memcpy(client->addr, addr, sizeof client->addr);
        /*
         * A stop signal goes to any one thread that does not block it. A new
         * thread inherits the creator's mask, so block the stop signals just
         * for pthread_create(): then only this thread, asleep in accept(),
         * can receive them, and Ctrl-C always stops the server.
         */
        pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
        err = pthread_create(&thread, &attr, serve, client);
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        if (err != 0) {     /* EAGAIN: out of threads or memory */
            warn_err(err, "pthread_create %s", addr);
            close(conn_fd);
            free(client);
            log_line(addr, "disconnected");
        }
    }

    pthread_attr_destroy(&attr);
    close(listen_fd);
    return 0;
}

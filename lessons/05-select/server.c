/*
 * Lesson 05 server: an echo server for many clients in one process, with
 * select().
 *
 *     usage: server PORT [ADDRESS]
 *
 * Lessons 03 and 04 gave every client a process or a thread of its own, which
 * may block in read() or write() without holding up the others. Here one
 * loop serves everybody: pselect() says which sockets are ready, and the
 * server only calls accept(), read() and write() on a socket that will not
 * make it wait. Three things keep that promise:
 *
 *   - Every socket is non-blocking (O_NONBLOCK). "Writable" means that some
 *     space is free in the socket's send buffer, not that all of a write
 *     fits: a blocking write() of more would still put the server to sleep.
 *   - Bytes that could not be written wait in the client's output buffer,
 *     and the socket is watched for writability until they are sent. The
 *     buffer has a cap: a client that sends and never reads is dropped, not
 *     allowed to eat the server's memory.
 *   - An fd_set has room for descriptors 0 to FD_SETSIZE - 1 (1024 on
 *     Linux). A client whose descriptor is beyond that is refused.
 *
 * The protocol and the log lines are lesson 02's, so lesson 02's client
 * works unchanged (lessons/05-select/client.c is a link to it).
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

static const char usage[] = "PORT [ADDRESS]";

/* Echoed bytes a client may leave unread before it is dropped. */
#define OUT_CAP (64 * 1024)

struct client {
    char addr[ADDR_STRLEN];
    int eof;                    /* it has closed its side: flush, then close */
    size_t out_start, out_end;  /* bytes not sent yet: out[out_start..out_end) */
    char out[OUT_CAP];
};

/* One slot per descriptor select() can watch; NULL where no client is. */
static struct client *clients[FD_SETSIZE];

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags == -1)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static void close_client(int fd)
{
    printf("%s disconnected\n", clients[fd]->addr);
    free(clients[fd]);
    clients[fd] = NULL;
    close(fd);
}

/* Accepts every client waiting in the listen queue. */
static void accept_clients(int listen_fd)
{
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t peer_len;
        char addr[ADDR_STRLEN];
        struct client *c;
        int fd = accept_client(listen_fd, &peer, &peer_len);

        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            /* EAGAIN: nobody else is waiting. EMFILE: accept_client()
             * refused a client and said so; the next one may fit. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EMFILE)
                warn_errno("accept");
            return;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        /* FD_SET() on such a descriptor would write past the fd_set. */
        if (fd >= FD_SETSIZE) {
            close(fd);
            warn_msg("refusing %s: descriptor %d >= FD_SETSIZE (%d)",
                     addr, fd, FD_SETSIZE);
            continue;
        }
        if (set_nonblocking(fd) == -1 || (c = malloc(sizeof *c)) == NULL) {
            warn_errno("refusing %s", addr);
            close(fd);
            continue;
        }
        memcpy(c->addr, addr, sizeof c->addr);
        c->eof = 0;
        c->out_start = c->out_end = 0;
        clients[fd] = c;
        printf("%s connected\n", addr);
    }
}

/* Sends what the socket takes now; the rest waits for the next turn. */
static void flush_client(int fd)
{
    struct client *c = clients[fd];

    while (c->out_start < c->out_end) {
        ssize_t n = write(fd, c->out + c->out_start, c->out_end - c->out_start);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;             /* full: pselect() says when there is room */
            warn_errno("write %s", c->addr);   /* EPIPE, ECONNRESET */
            close_client(fd);
            return;
        }
        c->out_start += (size_t)n;
    }
    c->out_start = c->out_end = 0;
    if (c->eof)
        close_client(fd);           /* all echoed: now we close our side */
}

/* One read() per turn, so that a fast client cannot starve the others. */
static void read_client(int fd)
{
    struct client *c = clients[fd];
    char buf[4096];
    ssize_t n;

    do
        n = read(fd, buf, sizeof buf);
    while (n == -1 && errno == EINTR);
    if (n == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;                 /* the data went away: nothing to do */
        warn_errno("read %s", c->addr);        /* ECONNRESET: a reset */
        close_client(fd);
        return;
    }
    if (n == 0) {
        c->eof = 1;                 /* no more input: echo the rest, close */
        flush_client(fd);
        return;
    }
    if (c->out_end + (size_t)n > OUT_CAP) {
        memmove(c->out, c->out + c->out_start, c->out_end - c->out_start);
        c->out_end -= c->out_start;
        c->out_start = 0;
    }
    if (c->out_end + (size_t)n > OUT_CAP) {
        warn_msg("dropping %s: more than %d bytes of echo unread",
                 c->addr, OUT_CAP);
        close_client(fd);
        return;
    }
    memcpy(c->out + c->out_end, buf, (size_t)n);
    c->out_end += (size_t)n;
    flush_client(fd);
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    sigset_t stop_signals, wait_mask;
    int listen_fd, status = 0;

    set_progname(argv[0]);
    server_args(argc, argv, usage, &port, &host);
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();

    /*
     * SIGINT and SIGTERM stay blocked, except inside pselect(): a stop
     * request that comes while the loop works is held back until the loop
     * goes to sleep, and then wakes it at once.
     */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &stop_signals, &wait_mask) == -1)
        die_errno("sigprocmask");
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGTERM);

    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;
    /* A client that resets between pselect() and accept() leaves nothing to
     * accept: a blocking accept() would then wait for the next client. */
    if (set_nonblocking(listen_fd) == -1) {
        warn_errno("fcntl O_NONBLOCK");
        close(listen_fd);
        return 1;
    }
    printf("listening on %s\n", local_addr(listen_fd, addr));

    while (!stop_requested) {
        fd_set readable, writable;
        int max_fd = listen_fd;

        /* pselect() overwrites the sets, so they are rebuilt every turn. */
        FD_ZERO(&readable);
        FD_ZERO(&writable);
        FD_SET(listen_fd, &readable);
        for (int fd = 0; fd < FD_SETSIZE; fd++) {
            if (clients[fd] == NULL)
                continue;
            if (!clients[fd]->eof)
                FD_SET(fd, &readable);
            if (clients[fd]->out_start < clients[fd]->out_end)
                FD_SET(fd, &writable);
            if (fd > max_fd)
                max_fd = fd;
        }

        if (pselect(max_fd + 1, &readable, &writable, NULL, NULL, &wait_mask) == -1) {
            if (errno == EINTR)
                continue;           /* a signal: the loop checks the flag */
            warn_errno("pselect");
            status = 1;
            break;
        }

        /* New clients get descriptors that were not in the sets. */
        if (FD_ISSET(listen_fd, &readable))
            accept_clients(listen_fd);
        for (int fd = 0; fd <= max_fd; fd++) {
            if (clients[fd] != NULL && FD_ISSET(fd, &readable))
                read_client(fd);
            if (clients[fd] != NULL && FD_ISSET(fd, &writable))
                flush_client(fd);
        }
    }

    for (int fd = 0; fd < FD_SETSIZE; fd++)
        if (clients[fd] != NULL)
            close_client(fd);
    close(listen_fd);
    return status;
}

/*
 * Lesson 09 receive: stores uploads from lesson 09's send in a directory.
 *
 *     usage: receive [-d DIR] PORT [ADDRESS]
 *
 * DIR defaults to the current directory.
 * Each upload (xfer.h: a header with name and size, the bytes, end of
 * file) is written to a temporary file in DIR, ".NAME.part.PID.N", and
 * renamed to NAME only once exactly SIZE bytes and then end of file have
 * arrived and the data is on disk. A sender that stops early, resets the
 * connection, sends more than it announced, or a disk that fills up
 * (ENOSPC, or EFBIG under a file size limit) leaves nothing under NAME,
 * and the temporary file is removed. rename() replaces an older NAME in
 * one step, so two uploads of one name never mix: the last to finish wins.
 *
 * One thread per upload (at most MAX_UPLOADS at once). Threads wait at most
 * TICK_MS in read() (SO_RCVTIMEO) to look at the stop flag, so SIGTERM
 * stops the server within a second even while clients stream at it. Log
 * lines are single write() calls, so a stalled log holds no stdio lock.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "xfer.h"
#include "rxio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static const char usage[] = "[-d DIR] PORT [ADDRESS]";

#define MAX_UPLOADS 8
#define CHUNK (256 * 1024)

static int dir_fd;
static atomic_uint next_temp;
static atomic_int active;

struct upload {
    int fd;
    char peer[ADDR_STRLEN];
};

/* Receives the body into the open temporary file; NULL, or why not. */
static const char *store(struct upload *u, int out, uint64_t size, char *why, size_t why_len)
{
    uint64_t left = size;
    ssize_t n;
    char *buf = malloc(CHUNK);      /* not on the stack: threads' stacks may be small */

    if (buf == NULL)
        return "out of memory";

    while (left > 0) {
        n = recv_some(u->fd, buf, left < CHUNK ? (size_t)left : CHUNK);
        if (n == 0) {
            free(buf);
            snprintf(why, why_len, "truncated: %llu of %llu bytes arrived",
                     (unsigned long long)(size - left), (unsigned long long)size);
            return why;
        }
        if (n == -1)
            goto net_error;
        if (write_all(out, buf, (size_t)n, NULL) == -1) {
            int err = errno;

            free(buf);
            snprintf(why, why_len, "writing the file: %s (%s)", strerror(err),
                     errno_name(err) ? errno_name(err) : "?");
            return why;
        }
        left -= (uint64_t)n;
    }
    n = recv_some(u->fd, buf, 1);
    free(buf);
    if (n == -1)
        goto net_error2;
    if (n > 0)
        return "more bytes than the header announced";
    if (fsync(out) == -1) {
        snprintf(why, why_len, "fsync: %s (%s)", strerror(errno),
                 errno_name(errno) ? errno_name(errno) : "?");
        return why;
    }
    return NULL;
net_error:
    free(buf);
net_error2:
    snprintf(why, why_len, "%s (%s) after %llu of %llu bytes",
             errno == EINTR ? "the receiver is stopping" : strerror(errno),
             errno_name(errno) ? errno_name(errno) : "?",
             (unsigned long long)(size - left), (unsigned long long)size);
    return why;
}

static void serve(struct upload *u)
{
    unsigned char header[XFER_HEADER_MAX];
    struct xfer_header h;
    char temp[XFER_NAME_MAX + 40], why[300], reply[64];
    const char *problem = NULL;
    ssize_t n = recv_full(u->fd, header, XFER_FIXED);
    long parsed = n >= 0 ? xfer_parse(header, (size_t)n, &h, &problem) : 0;
    int out;

    if (parsed == 0 && n == XFER_FIXED) {
        size_t name_len = (size_t)header[4] << 8 | header[5];

        n = recv_full(u->fd, header + XFER_FIXED, name_len);
        if (n >= 0)
            parsed = xfer_parse(header, XFER_FIXED + (size_t)n, &h, &problem);
    }
    if (parsed <= 0) {
        if (problem == NULL)
            problem = n == -1 ? "no header in time" : "header cut short";
        refuse(u->fd, u->peer, problem);
        return;
    }
    log_line("%s: receiving %s, %llu bytes", u->peer, h.name, (unsigned long long)h.size);
    do {
        snprintf(temp, sizeof temp, ".%s.part.%ld.%u", h.name, (long)getpid(), next_temp++);
        out = openat(dir_fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    } while (out == -1 && errno == EEXIST);
    if (out == -1) {
        snprintf(why, sizeof why, "creating the file: %s", strerror(errno));
        refuse(u->fd, u->peer, why);
        return;
    }
    problem = store(u, out, h.size, why, sizeof why);
    if (close(out) == -1 && problem == NULL) {
        snprintf(why, sizeof why, "close: %s", strerror(errno));
        problem = why;
    }
    if (problem == NULL && renameat(dir_fd, temp, dir_fd, h.name) == -1) {
        snprintf(why, sizeof why, "rename: %s", strerror(errno));
        problem = why;
    }
    if (problem != NULL) {
        unlinkat(dir_fd, temp, 0);
        refuse(u->fd, u->peer, problem);
        return;
    }
    log_line("%s: stored %s, %llu bytes", u->peer, h.name, (unsigned long long)h.size);
    n = snprintf(reply, sizeof reply, "OK %llu\n", (unsigned long long)h.size);
    (void)write_all(u->fd, reply, (size_t)n, NULL);
}

static void *upload_thread(void *arg)
{
    struct upload *u = arg;

    log_line("%s connected", u->peer);
    serve(u);
    close(u->fd);
    free(u);
    active--;
    return NULL;
}

/* Starts a thread for the connection, or refuses it when MAX_UPLOADS run. */
static void start_upload(int fd, const char *peer)
{
    struct timeval tick = {0, TICK_MS * 1000};
    struct upload *u = malloc(sizeof *u);
    pthread_attr_t attr;
    pthread_t t;
    sigset_t stop_signals, old;
    int err;

    if (u == NULL || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){1, 0},
                   sizeof(struct timeval)) == -1) {
        warn_errno("%s", u == NULL ? "malloc" : "setsockopt");
        free(u);
        close(fd);
        return;
    }
    u->fd = fd;
    snprintf(u->peer, sizeof u->peer, "%s", peer);
    if (active >= MAX_UPLOADS) {
        refuse(u->fd, u->peer, "busy: too many uploads at once, try again later");
        close(fd);
        free(u);
        return;
    }
    /* The stop signals go to the main thread only: it is the one in accept(). */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    active++;
    err = pthread_create(&t, &attr, upload_thread, u);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        active--;
        warn_err(err, "pthread_create");
        close(fd);
        free(u);
    }
}

int main(int argc, char *argv[])
{
    const char *port, *host, *dir = ".";
    char addr[ADDR_STRLEN];
    struct sigaction ignore;
    int listen_fd;

    set_progname(argv[0]);
    if (argc >= 3 && strcmp(argv[1], "-d") == 0) {
        dir = argv[2];
        argv[2] = argv[0];
        argc -= 2;
        argv += 2;
    }
    server_args(argc, argv, usage, &port, &host);
    dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd == -1)
        die_errno("%s", dir);
    catch_stop_signals();
    /* Over a file size limit (ulimit -f), write() then fails with EFBIG
     * instead of the signal killing the server. */
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    if (sigaction(SIGXFSZ, &ignore, NULL) == -1)
        die_errno("sigaction SIGXFSZ");

    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;
    log_line("listening on %s", local_addr(listen_fd, addr));

    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int conn_fd = accept_client(listen_fd, &peer, &peer_len);

        if (conn_fd == -1) {
            if (errno != EINTR && errno != EMFILE)
                warn_errno("accept");
            continue;
        }
        start_upload(conn_fd, format_addr((struct sockaddr *)&peer, peer_len, addr));
    }
    close(listen_fd);
    /* Each thread sees the flag within TICK_MS, removes its temporary file
     * and leaves; a thread stuck on a stalled log is not waited for. */
    for (int i = 0; i < 5 && active > 0; i++)
        nanosleep(&(struct timespec){0, TICK_MS * 1000000L}, NULL);
    close(dir_fd);
    return 0;
}

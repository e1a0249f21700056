/*
 * accept.c - accept() for servers that hold many connections at once.
 *
 * When a process runs out of descriptors, accept() fails with EMFILE but
 * leaves the connection in the queue, so the listening socket stays
 * readable and a loop that just retries spins at full speed, forever.
 * The cure is to keep one descriptor in reserve: on EMFILE, free it, accept
 * the waiting client, close that connection at once (the client sees an
 * orderly end of file instead of hanging), and take the reserve back.
 *
 * The reserve frees a slot in this process's table. When the whole system
 * is out (ENFILE), another process may take that slot first, and then the
 * reserve cannot be had again: with nothing to refuse a client with, the
 * only cure for the spin is time. So pause, and let the clients wait in the
 * queue until descriptors come back.
 *
 * Needs errors.c for its log line. The reserve is opened O_CLOEXEC, which
 * keeps it from a program this one execs, but not from a child it forks:
 * a forking server that uses this must close it in the child.
 */
#define _POSIX_C_SOURCE 200809L

#include "accept.h"
#include "errors.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int spare_fd = -1;

/*
 * A log line at most once a second: a server out of descriptors meets the
 * same failure at every turn, and a log that grows by a million lines is
 * one more problem. The next line says how many were held back; so does a
 * line of its own once a client is accepted again, so none goes uncounted.
 */
static struct timespec last_logged;
static int logged;
static unsigned long held;

static void log_limited(int err, const char *what)
{
    struct timespec now;
    const char *name = errno_name(err);

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (logged && (now.tv_sec - last_logged.tv_sec) * 1000L +
                      (now.tv_nsec - last_logged.tv_nsec) / 1000000L < 1000) {
        held++;
        return;
    }
    if (held > 0)
        warn_msg("accept: %s: %s (%s); %lu more like it held back", what,
                 strerror(err), name ? name : "?", held);
    else
        warn_err(err, "accept: %s", what);
    last_logged = now;
    logged = 1;
    held = 0;
}

/* Accepting again: what was held back, if anything, is told now. */
static int accepted(int fd)
{
    if (held > 0) {
        warn_msg("accept: %lu more like the last line held back", held);
        held = 0;
    }
    return fd;
}

static int out_of_descriptors(void)
{
    return errno == EMFILE || errno == ENFILE;
}

int accept_client(int listen_fd, struct sockaddr_storage *peer, socklen_t *peer_len)
{
    struct pollfd listener = {.fd = listen_fd, .events = POLLIN};
    int fd, err, flags, nonblocking;

    if (spare_fd == -1)
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    *peer_len = sizeof *peer;
    fd = accept(listen_fd, (struct sockaddr *)peer, peer_len);
    if (fd != -1)
        return accepted(fd);
    if (!out_of_descriptors())
        return -1;

    /*
     * Linux fails before it looks at the queue, so nobody may be waiting.
     * Wait for a client as accept() itself would have (not at all on a
     * non-blocking socket; a stop signal interrupts the wait), then try
     * again: a descriptor may have been freed meanwhile.
     */
    flags = fcntl(listen_fd, F_GETFL);
    nonblocking = flags != -1 && (flags & O_NONBLOCK);
    switch (poll(&listener, 1, nonblocking ? 0 : -1)) {
    case -1:
        return -1;                      /* EINTR: the caller checks for a stop */
    case 0:
        errno = EAGAIN;                 /* nobody is waiting */
        return -1;
    }
    *peer_len = sizeof *peer;
    fd = accept(listen_fd, (struct sockaddr *)peer, peer_len);
    if (fd != -1)
        return accepted(fd);
    if (!out_of_descriptors())
        return -1;

    err = errno;
    if (spare_fd != -1) {
        int refused_err;

        close(spare_fd);
        do                              /* one is waiting: this does not block */
            fd = accept(listen_fd, NULL, NULL);
        while (fd == -1 && errno == EINTR);
        refused_err = errno;
        if (fd != -1)
            close(fd);
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd != -1) {
            log_limited(err, "refusing a client");
            errno = EMFILE;
            return -1;
        }
        errno = refused_err;
        if (!out_of_descriptors())
            return -1;                  /* the client went; as accept() */
        err = refused_err;              /* the system took the slot (ENFILE) */
    }

    /* Nobody can be refused: the clients wait in the queue meanwhile. */
    log_limited(err, "no descriptor to refuse a client with");
    if (!nonblocking && poll(NULL, 0, ACCEPT_PAUSE_MS) == -1)
        return -1;                      /* EINTR: the caller checks for a stop */
    errno = EMFILE;
    return -1;
}

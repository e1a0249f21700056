/*
 * accept.c - accept() for servers that hold many connections at once.
 *
 * When a process runs out of descriptors, accept() fails with EMFILE but
 * leaves the connection in the queue, so the listening socket stays
 * readable and a loop that just retries spins at full speed, forever.
 * The cure is to keep one descriptor in reserve: on EMFILE, free it, accept
 * the waiting client, close that connection at once (the client sees an
 * orderly end of file instead of hanging), and take the reserve back.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

static int spare_fd = -1;

int accept_client(int listen_fd, struct sockaddr_storage *peer, socklen_t *peer_len)
{
    struct pollfd listener = {.fd = listen_fd, .events = POLLIN};
    int fd, err, flags;

    if (spare_fd == -1)
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    *peer_len = sizeof *peer;
    fd = accept(listen_fd, (struct sockaddr *)peer, peer_len);
    if (fd != -1 || (errno != EMFILE && errno != ENFILE))
        return fd;

    /*
     * Linux fails before it looks at the queue, so nobody may be waiting.
     * Wait for a client as accept() itself would have (not at all on a
     * non-blocking socket; a stop signal interrupts the wait), then try
     * again: a descriptor may have been freed meanwhile.
     */
    flags = fcntl(listen_fd, F_GETFL);
    switch (poll(&listener, 1, flags != -1 && (flags & O_NONBLOCK) ? 0 : -1)) {
    case -1:
        return -1;                      /* EINTR: the caller checks for a stop */
    case 0:
        errno = EAGAIN;                 /* nobody is waiting */
        return -1;
    }
    *peer_len = sizeof *peer;
    fd = accept(listen_fd, (struct sockaddr *)peer, peer_len);
    if (fd != -1 || (errno != EMFILE && errno != ENFILE))
        return fd;

    err = errno;
    if (spare_fd == -1) {
        warn_err(err, "accept: no spare descriptor to refuse a client with");
    } else {
        close(spare_fd);
        do                              /* one is waiting: this does not block */
            fd = accept(listen_fd, NULL, NULL);
        while (fd == -1 && errno == EINTR && !stop_requested);
        if (fd != -1) {
            close(fd);
            warn_err(err, "accept: refusing a client");
        }
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    errno = EMFILE;
    return -1;
}

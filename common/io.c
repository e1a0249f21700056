/*
 * io.c - read and write that finish the job.
 *
 * A stream socket is a stream of bytes, not of messages: write() may send
 * less than it was given (a short write), read() may return less than was
 * sent, and either may be interrupted by a signal (EINTR) before doing
 * anything. These two loops turn "at most len bytes" into "exactly len".
 *
 * Needs nothing else from common/: copy io.c with the io.h part of the
 * header. The caller says how to stop: a flag its signal handler sets,
 * passed as `stop` (or NULL, to retry every interruption).
 */
#define _POSIX_C_SOURCE 200809L

#include "io.h"

#include <errno.h>
#include <unistd.h>

ssize_t read_full(int fd, void *buf, size_t len, const atomic_int *stop)
{
    char *p = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t n;

        /*
         * A stop request ends the wait. Checked here, not only on EINTR: a
         * signal that arrives once some bytes are in returns a short count,
         * and the next read() would wait with the signal already spent.
         */
        if (stop != NULL && *stop) {
            errno = EINTR;
            return -1;
        }
        n = read(fd, p + got, len - got);
        if (n == 0)
            break;                  /* end of file: the peer has closed */
        if (n == -1) {
            if (errno == EINTR)
                continue;           /* any other signal: read on */
            return -1;
        }
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int write_all(int fd, const void *buf, size_t len, const atomic_int *stop)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n;

        /* So that a server asked to stop is not held up by a slow reader. */
        if (stop != NULL && *stop) {
            errno = EINTR;
            return -1;
        }
        n = write(fd, p, len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        /*
         * A socket never takes 0 of a non-empty buffer, but some devices
         * and a faulty wrapper can: retrying would loop for ever.
         */
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

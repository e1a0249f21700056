/*
 * lines.c - whole lines from a byte stream.
 *
 * read() returns whatever has arrived: half a line, three lines and a bit.
 * This reader keeps what it has read but not yet returned in a buffer of
 * its own, asks read() for as much as fits (one call per chunk, not one per
 * byte), and hands out one line at a time. A line that does not fit in the
 * buffer is an error, not a reason to grow it: a peer that never sends a
 * newline must not be able to make a server allocate without bound.
 */
#define _POSIX_C_SOURCE 200809L

#include "lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int line_reader_init(struct line_reader *lr, int fd, size_t max_line)
{
    memset(lr, 0, sizeof *lr);
    lr->fd = fd;
    if (max_line == 0 || max_line == (size_t)-1) {
        errno = EINVAL;
        return -1;
    }
    /* Room for the longest line and its newline; the NUL replaces the newline. */
    lr->cap = max_line + 1;
    lr->buf = malloc(lr->cap);
    return lr->buf == NULL ? -1 : 0;
}

void line_reader_free(struct line_reader *lr)
{
    free(lr->buf);
    lr->buf = NULL;
}

int line_read(struct line_reader *lr, char **line, size_t *len, const atomic_int *stop)
{
    for (;;) {
        size_t have = lr->end - lr->start;
        /* Only the new bytes are searched: under 1-byte reads, searching
         * the whole line each time would cost its length squared. */
        char *nl = memchr(lr->buf + lr->start + lr->scanned, '\n', have - lr->scanned);
        ssize_t n;

        if (lr->failed) {
            errno = lr->failed;
            return -1;
        }
        if (nl != NULL) {
            *line = lr->buf + lr->start;
            *len = (size_t)(nl - *line);
            *nl = '\0';
            lr->start += *len + 1;
            lr->scanned = 0;
            return 1;
        }
        /* Full, and no newline in it: longer than max_line. */
        if (have == lr->cap) {
            lr->failed = EMSGSIZE;
            continue;
        }
        if (lr->eof) {
            if (have == 0)
                return 0;
            /* A last line without a newline; shorter than the buffer
             * (checked above), so its NUL fits. */
            *line = lr->buf + lr->start;
            *len = have;
            (*line)[have] = '\0';
            lr->start = lr->end;
            lr->scanned = 0;
            return 1;
        }
        lr->scanned = have;
        /* Move the partial line to the front, so the rest can follow it. */
        if (lr->start > 0) {
            memmove(lr->buf, lr->buf + lr->start, have);
            lr->start = 0;
            lr->end = have;
        }
        if (stop != NULL && *stop) {
            errno = EINTR;
            return -1;
        }
        n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
        if (n == 0) {
            lr->eof = 1;
        } else if (n == -1) {
            if (errno == EINTR)
                continue;
            lr->failed = errno;
        } else {
            lr->end += (size_t)n;
        }
    }
}

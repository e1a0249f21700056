/*
 * lines.h - a buffered line reader (lines.c): whole lines from a stream
 * socket (or any descriptor), read in chunks, with a maximum length.
 * Needs no other file of common/.
 *
 * Each reader owns its buffer, so two threads may each read their own
 * connection with no lock: nothing is static. The buffer is allocated once,
 * at the maximum size, and never grows.
 */
#ifndef SOCKLAB_LINES_H
#define SOCKLAB_LINES_H

#include <stdatomic.h>
#include <stddef.h>

struct line_reader {
    int fd;
    char *buf;          /* max_line + 1 bytes: a line and its newline */
    size_t cap;
    size_t start, end;  /* bytes read but not yet returned: buf[start..end) */
    size_t scanned;     /* of those, how many are known to hold no newline */
    int eof;            /* read() returned 0 */
    int failed;         /* an error ended the stream: every later call fails */
};

/* 0, or -1 with errno (ENOMEM; EINVAL for max_line 0). */
int line_reader_init(struct line_reader *lr, int fd, size_t max_line);
void line_reader_free(struct line_reader *lr);

/*
 * The next line, without its '\n', NUL-terminated in the reader's buffer
 * (it may hold NULs of its own: *len is its length). The pointer is valid
 * until the next call. A last line that ends at end of file without a
 * newline is returned like any other.
 *
 * Returns 1 for a line, 0 at end of file, or -1 with errno:
 *   EMSGSIZE  a line longer than max_line (its first bytes are not returned)
 *   EINTR     *stop was set (stop may be NULL: interruptions are retried)
 *   and read()'s own errors (ECONNRESET, ...).
 * After -1 (other than EINTR) the stream is out of step: every later call
 * fails the same way, and the caller should close the connection.
 */
int line_read(struct line_reader *lr, char **line, size_t *len, const atomic_int *stop);

#endif

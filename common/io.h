/*
 * io.h - read_full() and write_all() (io.c): full transfers that survive
 * short reads and writes and EINTR. Needs no other file of common/.
 */
#ifndef SOCKLAB_IO_H
#define SOCKLAB_IO_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Reads until len bytes arrived or the peer closed. Returns the number read
 * (less than len only at end of file), or -1 with errno set. Interruptions
 * are retried, except once *stop is set: then -1 with EINTR. stop may be
 * NULL: then every interruption is retried.
 */
ssize_t read_full(int fd, void *buf, size_t len, const atomic_int *stop);

/*
 * Writes all len bytes, however many calls it takes. 0, or -1 with errno:
 * EINTR once *stop is set (as for read_full), EIO if write() took nothing.
 */
int write_all(int fd, const void *buf, size_t len, const atomic_int *stop);

#endif

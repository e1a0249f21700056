/*
 * frame.h - length-prefixed messages on a byte stream, for lesson 09's
 * msg-server and msg-client (and the fuzz target in tests/fuzz/).
 * Header-only (static inline) because every .c file in a lesson directory
 * is a program of its own.
 *
 * A frame is a 4-byte length in network byte order (big-endian), then that
 * many bytes of payload:
 *
 *     +--------+--------+--------+--------+---------------------+
 *     |  length, 32 bits, most significant byte first | payload |
 *     +--------+--------+--------+--------+---------------------+
 *
 * The length is checked against a maximum before anything is allocated: a
 * peer that sends ff ff ff ff must get an error, not a 4 GiB malloc().
 */
#ifndef FRAME_H
#define FRAME_H

#include "socklab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* The largest payload these programs accept unless told otherwise. */
#define FRAME_MAX_DEFAULT (64u * 1024)

/* The length in a frame's header, or -1/EMSGSIZE if it exceeds max. */
static inline int frame_length(const unsigned char header[4], uint32_t max, uint32_t *len)
{
    uint32_t wire;

    memcpy(&wire, header, 4);       /* header may be unaligned: no cast */
    *len = ntohl(wire);
    if (*len > max) {
        errno = EMSGSIZE;
        return -1;
    }
    return 0;
}

/*
 * Reads one frame into a fresh allocation (free() it; a zero-length payload
 * is a valid message and still gets a 1-byte allocation). Returns 1, or 0
 * at end of file between frames, or -1 with errno:
 *   EMSGSIZE  the length is over max (*len says what it claimed)
 *   EPROTO    end of file inside a frame: a truncated message (*got says
 *             how many bytes of header and payload did arrive)
 *   ENOMEM, EINTR (*stop set) and read()'s errors.
 */
static inline int frame_read(int fd, char **payload, uint32_t *len, uint32_t max,
                             size_t *got, const atomic_int *stop)
{
    unsigned char header[4];
    ssize_t n = read_full(fd, header, sizeof header, stop);

    *payload = NULL;
    *got = n > 0 ? (size_t)n : 0;
    *len = 0;
    if (n == 0)
        return 0;
    if (n == -1)
        return -1;
    if (n < 4) {
        errno = EPROTO;
        return -1;
    }
    if (frame_length(header, max, len) == -1)
        return -1;
    *payload = malloc((size_t)*len + 1);  /* + 1: room for a NUL, and never malloc(0) */
    if (*payload == NULL)
        return -1;
    n = read_full(fd, *payload, *len, stop);
    if (n >= 0)
        *got += (size_t)n;
    if (n == (ssize_t)*len) {
        (*payload)[*len] = '\0';
        return 1;
    }
    free(*payload);
    *payload = NULL;
    if (n >= 0)
        errno = EPROTO;
    return -1;
}

/*
 * Writes one frame: header and payload in one writev(), so that a small
 * message leaves in one segment (two writes would meet Nagle's algorithm
 * and the peer's delayed ACK: 40 ms per message). Whatever writev() leaves
 * unsent, write_all() finishes.
 */
static inline int frame_write(int fd, const void *payload, uint32_t len, const atomic_int *stop)
{
    uint32_t wire = htonl(len);
    struct iovec iov[2] = {
        {.iov_base = &wire, .iov_len = 4},
        {.iov_base = (void *)(uintptr_t)payload, .iov_len = len},
    };
    ssize_t n;

    do {
        if (stop != NULL && *stop) {
            errno = EINTR;
            return -1;
        }
        n = writev(fd, iov, 2);
    } while (n == -1 && errno == EINTR);
    if (n == -1)
        return -1;
    if ((size_t)n < 4 &&
        write_all(fd, (char *)&wire + n, 4 - (size_t)n, stop) == -1)
        return -1;
    n = n > 4 ? n - 4 : 0;
    return write_all(fd, (const char *)payload + n, len - (size_t)n, stop);
}

#endif

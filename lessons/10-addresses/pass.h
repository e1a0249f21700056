/*
 * pass.h - handoff's descriptor passing: send_fds() puts descriptors in an
 * SCM_RIGHTS control message, receive_fd() takes exactly one out and
 * closes whatever else came. Header-only, as unix.h.
 *
 * The kernel installs every descriptor of a message in the receiver's
 * table the moment recvmsg() returns: each one the receiver does not want
 * is a leak unless it is closed. And if the control buffer is too small,
 * the kernel closes the ones that did not fit and says so with MSG_CTRUNC.
 */
#ifndef PASS_H
#define PASS_H

#include "socklab.h"
#include "log.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Descriptors a worker's buffer has room for: one expected, some to spare. */
#define MAX_FDS 4

/* The control buffer, aligned for struct cmsghdr as CMSG_FIRSTHDR() needs. */
union control {
    char buf[CMSG_SPACE(sizeof(int) * (MAX_FDS + 8))];
    struct cmsghdr align;
};

/* Sends addr (the bytes) and fds (the control message) as one datagram. */
static inline int send_fds(int chan, const char *addr, const int *fds, int nfds)
{
    union control c;
    struct iovec iov = {.iov_base = (void *)addr, .iov_len = strlen(addr) + 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
                         .msg_controllen = (socklen_t)CMSG_SPACE(sizeof(int) * (size_t)nfds)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

    memset(c.buf, 0, sizeof c.buf);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = (socklen_t)CMSG_LEN(sizeof(int) * (size_t)nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
    while (sendmsg(chan, &msg, 0) == -1)
        if (errno != EINTR || stop_requested)
            return -1;
    return 0;
}

/* CMSG_NXTHDR(), whose musl version trips -Wsign-conversion inside the macro. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
static inline struct cmsghdr *next_cmsg(struct msghdr *msg, struct cmsghdr *cm)
{
    return CMSG_NXTHDR(msg, cm);
}
#pragma GCC diagnostic pop

/*
 * Receives one connection: its descriptor, its address in addr. Returns -1
 * at the channel's end or a stop, -2 for a message that brought no usable
 * descriptor. Whatever else arrived is closed here.
 */
static inline int receive_fd(int chan, int worker, char *addr, size_t size)
{
    union control c;
    struct iovec iov = {.iov_base = addr, .iov_len = size - 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    int fds[MAX_FDS + 8], nfds = 0, flags = 0;
    struct stat st;
    ssize_t n;

#ifdef MSG_CMSG_CLOEXEC
    flags = MSG_CMSG_CLOEXEC;   /* Linux: closed at exec, without a race */
#endif
    do {
        msg.msg_control = c.buf;
        msg.msg_controllen = (socklen_t)CMSG_SPACE(sizeof(int) * MAX_FDS);
        n = recvmsg(chan, &msg, flags);
    } while (n == -1 && errno == EINTR && !stop_requested);
    if (n <= 0)
        return -1;                  /* 0: the acceptor has gone */
    addr[n] = '\0';
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = next_cmsg(&msg, cm)) {
        size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t i = 0; i < k && nfds < (int)(sizeof fds / sizeof fds[0]); i++)
            memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
    }
    /* Cut short: some descriptors never arrived, so none is trusted. */
    if (msg.msg_flags & MSG_CTRUNC) {
        log_line("worker %d: %s: control message truncated (MSG_CTRUNC): closing %d descriptors",
                 worker, addr, nfds);
        while (nfds > 0)
            close(fds[--nfds]);
        return -2;
    }
    if (nfds > 1)
        log_line("worker %d: %s: closing %d unexpected descriptors", worker, addr, nfds - 1);
    while (nfds > 1)
        close(fds[--nfds]);
    if (nfds == 0 || fstat(fds[0], &st) == -1 || !S_ISSOCK(st.st_mode)) {
        log_line("worker %d: %s: no socket in the message", worker, addr);
        if (nfds == 1)
            close(fds[0]);
        return -2;
    }
    return fds[0];
}

#endif

/*
 * Exercise 10-peercred, a solution: userver that serves only clients of
 * its own user (its effective uid), whatever the socket file's
 * permissions, and tells the others why it closes on them.
 *
 * Lesson 10 userver: lesson 02's echo server over a Unix domain socket.
 *
 *     usage: userver [-t stream|seqpacket|dgram] [-m MODE] PATH
 *
 * The echo is lesson 02's, unchanged; what changed is the address: a path
 * in the file system (or "@name", Linux's abstract namespace) instead of a
 * port, made by unix_listen() (unix.h) instead of tcp_listen().
 *
 *   -t TYPE  stream (the default) is a byte stream, as TCP; seqpacket keeps
 *            each write a message, in order, on a connection; dgram is
 *            datagrams, as UDP, each answered to the sender's path
 *   -m MODE  the socket file's permissions, in octal (0600: its owner only)
 *
 * A stale socket file left by a server that died is removed, one that a
 * live server answers on is not (unix.h); a clean stop removes the path.
 * Each connection is logged with the peer's uid and pid, which the kernel
 * tells (SO_PEERCRED on Linux, getpeereid() on the BSDs and macOS).
 */
#ifdef __linux__
#define _GNU_SOURCE         /* struct ucred, for SO_PEERCRED */
#endif
/* Elsewhere no feature macro: the BSDs and macOS then declare getpeereid(),
 * which _POSIX_C_SOURCE would hide. */

#include "socklab.h"
#include "../../../lessons/10-addresses/log.h"
#include "../../../lessons/10-addresses/unix.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

static const char usage[] = "[-t stream|seqpacket|dgram] [-m MODE] PATH";

/* "uid 1000 pid 4242": who is at the other end, as the kernel saw it at connect(). */
static char *peer_text(int fd, char *buf, size_t size)
{
#if defined(__linux__)
    struct ucred cred;
    socklen_t len = sizeof cred;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        snprintf(buf, size, "uid %ld pid %ld", (long)cred.uid, (long)cred.pid);
        return buf;
    }
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
    uid_t uid;
    gid_t gid;

    /* getpeereid() has no pid: LOCAL_PEERPID (macOS) or LOCAL_PEERCRED would. */
    if (getpeereid(fd, &uid, &gid) == 0) {
        snprintf(buf, size, "uid %ld", (long)uid);
        return buf;
    }
#else
    errno = ENOSYS;         /* no way to ask on this system */
#endif
    snprintf(buf, size, "peer unknown (%s)", strerror(errno));
    return buf;
}

/*
 * The peer's uid, as the kernel recorded it at connect(); -1 with errno if
 * it cannot be had (then nobody is served: refusing is the safe side).
 */
static long peer_uid(int fd)
{
#if defined(__linux__)
    struct ucred cred;
    socklen_t len = sizeof cred;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
        return (long)cred.uid;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
    uid_t uid;
    gid_t gid;

    if (getpeereid(fd, &uid, &gid) == 0)
        return (long)uid;
#else
    errno = ENOSYS;
#endif
    return -1;
}

/* Tells a client of another user why, and logs it; the caller closes. */
static void refuse(int fd, const char *peer)
{
    char line[128];
    int n = snprintf(line, sizeof line, "refused: this server serves uid %ld only\n",
                     (long)geteuid());

    log_line("%s refused", peer);
    /* A client that has gone is no error worth a line. */
    if (write_all(fd, line, (size_t)n, &stop_requested) == -1) {
        if (errno != EINTR && errno != EPIPE && errno != ECONNRESET)
            warn_errno("write %s", peer);
        return;
    }
    /*
     * Closing with the client's bytes unread resets the connection, and on
     * a Unix socket the reset throws away the refusal it has not read yet.
     * So: say we are done (SHUT_WR), and read what the client sends until
     * it closes, for at most half a second, so that a stranger cannot hold
     * this one-client-at-a-time server for longer.
     */
    shutdown(fd, SHUT_WR);
    for (int waited = 0; waited < 500 && !stop_requested; waited += 50) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char junk[4096];

        if (poll(&p, 1, 50) == 1 && read(fd, junk, sizeof junk) <= 0)
            break;                  /* end of file (or an error): it has gone */
    }
}

/*
 * Echoes until the client closes: lesson 02's loop. On a seqpacket socket
 * each read() is one message, and write_all() sends it as one.
 */
static void echo(int fd, const char *peer)
{
    char buf[4096];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);

        if (n == 0)
            return;                 /* end of file: the client closed */
        if (n == -1) {
            if (errno == EINTR && !stop_requested)
                continue;
            if (errno != EINTR)
                warn_errno("read %s", peer);
            return;
        }
        if (write_all(fd, buf, (size_t)n, &stop_requested) == -1) {
            if (errno != EINTR)
                warn_errno("write %s", peer);
            return;
        }
    }
}

/* Datagrams: each goes back to the path it came from, as lesson 07's server. */
static void echo_datagrams(int fd)
{
    static char buf[65536];
    unsigned long served = 0;

    while (!stop_requested) {
        struct sockaddr_un from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);

        if (n == -1) {
            if (errno != EINTR)
                warn_errno("recvfrom");
            continue;
        }
        served++;
        /* A sender that bound no path cannot be answered (sendto fails). */
        if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, from_len) == -1 &&
            errno != EINTR)
            warn_errno("sendto (a sender with no path?)");
    }
    log_last("served %lu datagrams", served);
}

int main(int argc, char *argv[])
{
    const char *path;
    char peer[64];
    int opt, type = SOCK_STREAM, mode = -1, listen_fd;
    ino_t ino;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    opterr = 0;
    while ((opt = getopt(argc, argv, "t:m:")) != -1) {
        char *end;

        if (opt == 't' && (type = unix_type(optarg)) == -1)
            usage_error(usage, "invalid type '%s': expected stream, seqpacket or dgram", optarg);
        else if (opt == 'm' && ((mode = (int)strtol(optarg, &end, 8)), *end != '\0' ||
                                *optarg == '\0' || mode < 0 || mode > 0777))
            usage_error(usage, "invalid mode '%s': expected octal, e.g. 0600", optarg);
        else if (opt == '?')
            usage_error(usage, "unknown option '-%c'", optopt);
    }
    if (argc - optind != 1)
        usage_error(usage, argc - optind < 1 ? "missing path" : "too many arguments");
    path = argv[optind];
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();

    listen_fd = unix_listen(path, type, mode, &ino);
    if (listen_fd == -1)
        return 1;
    printf("listening on %s\n", path);

    if (type == SOCK_DGRAM)
        echo_datagrams(listen_fd);
    while (type != SOCK_DGRAM && !stop_requested) {
        /* No client address to keep: a client's socket usually has no path. */
        int conn_fd = accept(listen_fd, NULL, NULL);

        if (conn_fd == -1) {
            if (errno == EMFILE || errno == ENFILE) {
                warn_errno("accept (trying again in a second)");
                sleep(1);
            } else if (errno != EINTR) {
                warn_errno("accept");
            }
            continue;
        }
        peer_text(conn_fd, peer, sizeof peer);
        if (peer_uid(conn_fd) != (long)geteuid()) {
            refuse(conn_fd, peer);
            close(conn_fd);
            continue;
        }
        log_line("%s connected", peer);
        echo(conn_fd, peer);
        close(conn_fd);
        log_line("%s disconnected", peer);
    }

    close(listen_fd);
    unix_unlink(path, ino);
    return 0;
}

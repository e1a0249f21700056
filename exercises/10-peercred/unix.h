/*
 * unix.h - what lesson 10's Unix domain programs share: a socket address
 * from a path, listening without tripping over a stale socket file, and
 * connecting. Header-only (static inline), as lesson 07's udp.h: every .c
 * file in a lesson directory is a program of its own.
 *
 * A PATH that starts with '@' names the abstract namespace (Linux only):
 * "@socklab" is the name "\0socklab", which has no file, needs no unlink
 * and vanishes with the last socket that holds it.
 */
#ifndef UNIX_H
#define UNIX_H

#include "socklab.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* "stream", "seqpacket" or "dgram" to SOCK_*, or -1. */
static inline int unix_type(const char *name)
{
    if (strcmp(name, "stream") == 0)
        return SOCK_STREAM;
    if (strcmp(name, "seqpacket") == 0)
        return SOCK_SEQPACKET;
    if (strcmp(name, "dgram") == 0)
        return SOCK_DGRAM;
    return -1;
}

/*
 * Fills *sun from path. The length matters: for a path it covers the text
 * and its NUL; for an abstract name every byte counts, so no NUL is added.
 * sun_path holds 108 bytes on Linux, 104 on the BSDs: a longer path is
 * ENAMETOOLONG here rather than a name silently cut short.
 */
static inline int unix_addr(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
    size_t n = strlen(path);

    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    if (n == 0 || n >= sizeof sun->sun_path) {
        errno = n == 0 ? ENOENT : ENAMETOOLONG;
        return -1;
    }
    memcpy(sun->sun_path, path, n);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    if (path[0] == '@') {
#ifdef __linux__
        sun->sun_path[0] = '\0';
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
#else
        errno = EAFNOSUPPORT;       /* the abstract namespace is Linux's */
        return -1;
#endif
    }
    return 0;
}

/*
 * A path that bind() found taken is stale if it is a socket and nobody
 * answers on it: then it is removed. A server that answers keeps its path,
 * and so does a file that is not a socket (the user's data, not ours).
 * Two servers that start at the same moment could both decide so; a lock
 * file (flock) beside the socket closes that gap.
 */
static inline int remove_if_stale(const char *path, const struct sockaddr_un *sun,
                                  socklen_t len, int type)
{
    struct stat st;
    int probe, rc, err;

    if (path[0] == '@' || lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode)) {
        errno = EADDRINUSE;
        return -1;
    }
    probe = socket(AF_UNIX, type, 0);
    if (probe == -1)
        return -1;
    rc = connect(probe, (const struct sockaddr *)sun, len);
    err = errno;
    close(probe);
    if (rc == 0 || err != ECONNREFUSED) {
        /* Somebody listens (or the socket is of another type: EPROTOTYPE). */
        errno = EADDRINUSE;
        return -1;
    }
    warn_msg("removing stale socket %s: nobody answers on it", path);
    return unlink(path);
}

/*
 * socket, bind (removing a stale path once), chmod to mode unless it is -1,
 * listen for the connection types. Returns the socket, or -1 once said why.
 * *ino receives the socket file's inode, so that the stop removes the path
 * only if it is still this server's.
 */
static inline int unix_listen(const char *path, int type, int mode, ino_t *ino)
{
    struct sockaddr_un sun;
    struct stat st;
    socklen_t len;
    int fd, tries = 0;

    if (unix_addr(path, &sun, &len) == -1) {
        warn_errno("socket address %s", path);
        return -1;
    }
    fd = socket(AF_UNIX, type, 0);
    if (fd == -1) {
        warn_errno("socket %s", path);
        return -1;
    }
    while (bind(fd, (struct sockaddr *)&sun, len) == -1) {
        if (errno != EADDRINUSE || tries++ > 0 || remove_if_stale(path, &sun, len, type) == -1) {
            warn_errno("bind %s", path);
            close(fd);
            return -1;
        }
    }
    *ino = path[0] != '@' && lstat(path, &st) == 0 ? st.st_ino : 0;
    /* Before listen(): nobody can connect yet, so no one slips in meanwhile. */
    if (mode != -1 && path[0] != '@' && chmod(path, (mode_t)mode) == -1) {
        warn_errno("chmod %s", path);
    } else if (type != SOCK_DGRAM && listen(fd, SOMAXCONN) == -1) {
        warn_errno("listen %s", path);
    } else {
        return fd;
    }
    close(fd);
    if (*ino != 0)
        unlink(path);
    return -1;
}

/* At a clean stop: the path goes, unless somebody has replaced it since. */
static inline void unix_unlink(const char *path, ino_t ino)
{
    struct stat st;

    if (ino != 0 && lstat(path, &st) == 0 && st.st_ino == ino && unlink(path) == -1)
        warn_errno("unlink %s", path);
}

/* connect() an existing socket to path; -1 once said why. */
static inline int unix_connect_fd(int fd, const char *path)
{
    struct sockaddr_un sun;
    socklen_t len;

    if (unix_addr(path, &sun, &len) == -1) {
        warn_errno("socket address %s", path);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sun, len) == -1) {
        warn_errno("connect %s", path);
        return -1;
    }
    return 0;
}

/* socket and connect to path; -1 once said why. */
static inline int unix_connect(const char *path, int type)
{
    int fd = socket(AF_UNIX, type, 0);

    if (fd == -1) {
        warn_errno("socket %s", path);
        return -1;
    }
    if (unix_connect_fd(fd, path) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

#endif

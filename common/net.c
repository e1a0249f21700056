/*
 * net.c - ports, addresses, and the socket/bind/listen and socket/connect
 * sequences that lesson 01 spells out by hand.
 *
 * Names and literals of both families go through getaddrinfo(), which may
 * return several addresses ("localhost" is ::1 and 127.0.0.1): each one is
 * tried in turn, and the errors are printed only if none of them works.
 *
 * Needs errors.c (messages, the program's name): copy both, with net.h and
 * errors.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "net.h"
#include "errors.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int parse_port(const char *s, unsigned short *port)
{
    unsigned long value = 0;

    /* getaddrinfo() would take "70000" and quietly use port 4464. Plain
       decimal, leading zeros allowed at any length: 09000 and 00009000 are
       both 9000. Stopping above 65535 keeps value from overflowing. */
    if (*s == '\0')
        return -1;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        value = value * 10 + (unsigned long)(*p - '0');
        if (value > 65535)
            return -1;
    }
    *port = (unsigned short)value;
    return 0;
}

static const char *checked_port(const char *usage, const char *s)
{
    unsigned short port;

    if (parse_port(s, &port) == -1)
        usage_error(usage, "invalid port '%s': expected a decimal number from 0 to 65535"
                    " (leading zeros allowed)", s);
    return s;
}

void server_args(int argc, char *argv[], const char *usage,
                 const char **port, const char **host)
{
    if (wants_help(argc, argv)) {
        print_usage(usage);
        exit(0);
    }
    if (argc < 2 || argc > 3)
        usage_error(usage, argc < 2 ? "missing port" : "too many arguments");
    *port = checked_port(usage, argv[1]);
    *host = argc == 3 ? argv[2] : "127.0.0.1";
    if (**host == '\0')
        usage_error(usage, "empty address");
}

void client_args(int argc, char *argv[], const char *usage,
                 const char **host, const char **port)
{
    if (wants_help(argc, argv)) {
        print_usage(usage);
        exit(0);
    }
    if (argc != 3)
        usage_error(usage, argc < 3 ? "missing host or port" : "too many arguments");
    if (argv[1][0] == '\0')
        usage_error(usage, "empty host");
    *host = argv[1];
    *port = checked_port(usage, argv[2]);
}

char *format_addr(const struct sockaddr *sa, socklen_t len, char buf[ADDR_STRLEN])
{
    char host[64], serv[8];     /* an IPv6 address with a scope; "65535" */
    int rc = getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                         NI_NUMERICHOST | NI_NUMERICSERV);

    if (rc != 0)
        snprintf(buf, ADDR_STRLEN, "(unknown address: %s)", gai_strerror(rc));
    else if (sa->sa_family == AF_INET6)
        snprintf(buf, ADDR_STRLEN, "[%s]:%s", host, serv); /* [::1]:9000 */
    else
        snprintf(buf, ADDR_STRLEN, "%s:%s", host, serv);
    return buf;
}

char *local_addr(int fd, char buf[ADDR_STRLEN])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
        snprintf(buf, ADDR_STRLEN, "(unknown address: %s)", strerror(errno));
        return buf;
    }
    return format_addr((struct sockaddr *)&ss, len, buf);
}

char *peer_addr(int fd, char buf[ADDR_STRLEN])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1) {
        snprintf(buf, ADDR_STRLEN, "(unknown address: %s)", strerror(errno));
        return buf;
    }
    return format_addr((struct sockaddr *)&ss, len, buf);
}

/*
 * Failures are collected here and printed only if every address fails, so
 * that a name with an IPv6 and an IPv4 address does not print an error when
 * the second one works.
 */
struct failures {
    char text[1024];
    size_t used;
};

static void note_failure(struct failures *f, const char *call,
                         const struct addrinfo *ai, int err)
{
    char addr[ADDR_STRLEN];
    const char *name = errno_name(err);
    int n = snprintf(f->text + f->used, sizeof f->text - f->used,
                     "%s: %s %s: %s%s%s%s\n", progname(), call,
                     format_addr(ai->ai_addr, ai->ai_addrlen, addr),
                     strerror(err), name ? " (" : "", name ? name : "",
                     name ? ")" : "");

    if (n > 0)   /* on truncation, keep what fitted */
        f->used = f->used + (size_t)n < sizeof f->text
                      ? f->used + (size_t)n : sizeof f->text - 1;
}

static struct addrinfo *resolve(const char *host, const char *port, int flags)
{
    struct addrinfo hints, *list;
    int rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;   /* IPv4 or IPv6, whatever host names */
    hints.ai_socktype = SOCK_STREAM;
    /* No AI_ADDRCONFIG: it hides ::1 on a machine whose only IPv6 is lo. */
    hints.ai_flags = AI_NUMERICSERV | flags;
    rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        fprintf(stderr, "%s: getaddrinfo %s: %s\n", progname(), host,
                rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return NULL;
    }
    return list;
}

/* socket, SO_REUSEADDR, bind, listen: the socket, or -1 and the failed call. */
static int listen_one(const struct addrinfo *ai, int backlog, const char **call)
{
    int fd, saved;

    *call = "socket";
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd == -1)
        return -1;
    /* Lets a restarted server bind while its old connections linger. */
    *call = "setsockopt SO_REUSEADDR";
    /* One line, so that commenting it out (lesson 02's experiment) leaves
       a working server that just does without the option; hence the
       compound literal (int){1} instead of a variable left unused. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int)) == -1) goto fail;
    *call = "bind";
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
        goto fail;
    *call = "listen";
    if (listen(fd, backlog) == -1)
        goto fail;
    return fd;
fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int tcp_listen(const char *host, const char *port, int backlog)
{
    struct addrinfo *list = resolve(host, port, AI_PASSIVE);
    struct failures failed = {.used = 0};
    int fd = -1;

    if (list == NULL)
        return -1;
    for (struct addrinfo *ai = list; ai != NULL && fd == -1; ai = ai->ai_next) {
        const char *call;

        fd = listen_one(ai, backlog, &call);
        if (fd == -1)
            note_failure(&failed, call, ai, errno);
    }
    freeaddrinfo(list);
    if (fd == -1)
        fputs(failed.text, stderr);
    return fd;
}

/*
 * connect() that survives a signal. A signal does not stop the handshake
 * that an interrupted connect() started: the kernel carries on with it, and
 * calling connect() again would fail (EALREADY, or EISCONN once it is
 * done). So wait until the socket is writable, which is when the handshake
 * has ended, and ask SO_ERROR how it ended.
 */
static int connect_one(int fd, const struct addrinfo *ai)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    socklen_t len = sizeof(int);
    int err;

    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINTR)
        return -1;
    while (poll(&pfd, 1, -1) == -1)
        if (errno != EINTR)
            return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        return -1;
    errno = err;
    return err == 0 ? 0 : -1;
}

int tcp_connect(const char *host, const char *port)
{
    struct addrinfo *list = resolve(host, port, 0);
    struct failures failed = {.used = 0};
    int fd = -1;

    if (list == NULL)
        return -1;
    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            note_failure(&failed, "socket", ai, errno);
            continue;
        }
        if (connect_one(fd, ai) == 0)
            break;
        note_failure(&failed, "connect", ai, errno);
        close(fd);
        fd = -1;
    }
    freeaddrinfo(list);
    if (fd == -1)
        fputs(failed.text, stderr);
    return fd;
}

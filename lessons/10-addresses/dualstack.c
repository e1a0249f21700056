/*
 * Lesson 10 dualstack: one server, three ways of serving IPv4 and IPv6.
 *
 *     usage: dualstack [-6 | -2] PORT
 *
 *   (none)  one socket bound to [::] with IPV6_V6ONLY off: IPv4 clients
 *           arrive too, as mapped addresses ([::ffff:127.0.0.1]:PORT)
 *   -6      one socket bound to [::] with IPV6_V6ONLY on: IPv6 only, and an
 *           IPv4 client is refused (ECONNREFUSED)
 *   -2      the portable pattern: a socket per family, 0.0.0.0 and [::]
 *           (IPV6_V6ONLY on), both watched by one poll() loop
 *
 * Each client is told the address the server sees ("you are ADDR") and the
 * connection is closed, as lesson 01 does. The server binds the wildcard,
 * every interface of the host, on purpose: that is what the lesson is about
 * (lesson 01 and the chapter say why the others bind loopback).
 *
 * The default for IPV6_V6ONLY is the system's (Linux:
 * net.ipv6.bindv6only, 0 unless changed; the BSDs: on), so the option is
 * set either way: a server that needs one behaviour says so.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "[-6 | -2] PORT";

/* socket, IPV6_V6ONLY for IPv6, SO_REUSEADDR, bind, listen; -1 once said why. */
static int listen_wildcard(int family, unsigned short port, int v6only)
{
    struct sockaddr_storage ss;
    socklen_t len;
    const int on = 1;
    char addr[ADDR_STRLEN];
    int fd;

    memset(&ss, 0, sizeof ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_any;             /* :: */
        a->sin6_port = htons(port);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;

        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_ANY); /* 0.0.0.0 */
        a->sin_port = htons(port);
        len = sizeof *a;
    }
    format_addr((struct sockaddr *)&ss, len, addr);
    fd = socket(family, SOCK_STREAM, 0);
    if (fd == -1) {
        warn_errno("socket %s", addr);
        return -1;
    }
    /* Before bind: it decides which port space the socket takes. */
    if (family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) == -1)
        warn_errno("setsockopt IPV6_V6ONLY %s", addr);
    else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
        warn_errno("setsockopt SO_REUSEADDR %s", addr);
    else if (bind(fd, (struct sockaddr *)&ss, len) == -1)
        warn_errno("bind %s", addr);
    else if (listen(fd, SOMAXCONN) == -1)
        warn_errno("listen %s", addr);
    else
        return fd;
    close(fd);
    return -1;
}

/* The port the kernel gave (port 0 asked it to choose). */
static unsigned short bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
        return 0;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

static void serve(int listen_fd)
{
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    char addr[ADDR_STRLEN], line[ADDR_STRLEN + 16];
    int fd = accept_client(listen_fd, &peer, &peer_len);
    int n;

    if (fd == -1) {
        if (errno != EINTR && errno != EAGAIN && errno != EMFILE)
            warn_errno("accept");
        return;
    }
    format_addr((struct sockaddr *)&peer, peer_len, addr);
    log_line("%s connected", addr);
    n = snprintf(line, sizeof line, "you are %s\n", addr);
    if (write_all(fd, line, (size_t)n, &stop_requested) == -1 && errno != EINTR)
        warn_errno("write %s", addr);
    close(fd);
    log_line("%s disconnected", addr);
}

int main(int argc, char *argv[])
{
    struct pollfd fds[2];
    char addr[ADDR_STRLEN];
    unsigned short port;
    int opt, nfds = 0, v6only = 0, split = 0;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    opterr = 0;
    while ((opt = getopt(argc, argv, "62")) != -1) {
        if (opt == '6')
            v6only = 1;
        else if (opt == '2')
            split = 1;
        else if (optopt >= '0' && optopt <= '9')   /* "-1": a port, not a flag */
            usage_error(usage, "invalid port '%s': expected a number from 0 to 65535",
                        argv[optind - 1]);
        else
            usage_error(usage, "unknown option '-%c'", optopt);
    }
    if (v6only && split)
        usage_error(usage, "-6 and -2 exclude each other");
    if (argc - optind != 1)
        usage_error(usage, argc - optind < 1 ? "missing port" : "too many arguments");
    if (parse_port(argv[optind], &port) == -1)
        usage_error(usage, "invalid port '%s': expected a number from 0 to 65535", argv[optind]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();

    if (split) {
        /* IPv4 first; with port 0, IPv6 then takes the same port. */
        fds[nfds].fd = listen_wildcard(AF_INET, port, 0);
        if (fds[nfds].fd == -1)
            return 1;
        port = bound_port(fds[nfds++].fd);
    }
    fds[nfds].fd = listen_wildcard(AF_INET6, port, v6only || split);
    if (fds[nfds].fd == -1) {
        if (split)
            close(fds[0].fd);
        return 1;
    }
    nfds++;
    for (int i = 0; i < nfds; i++) {
        fds[i].events = POLLIN;
        printf("listening on %s\n", local_addr(fds[i].fd, addr));
    }

    while (!stop_requested) {
        /* A stop that lands between the check and poll() waits for the
         * next client, as in lesson 02; lesson 05's pselect() closes it. */
        if (poll(fds, (nfds_t)nfds, -1) == -1) {
            if (errno != EINTR)
                die_errno("poll");
            continue;
        }
        for (int i = 0; i < nfds && !stop_requested; i++)
            if (fds[i].revents & POLLIN)
                serve(fds[i].fd);
    }
    for (int i = 0; i < nfds; i++)
        close(fds[i].fd);
    return 0;
}

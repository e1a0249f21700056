/*
 * Exercise 02-upper, reference solution: an echo server that replies in
 * upper case.
 *
 *     usage: server PORT [ADDRESS]
 *
 * Lesson 02's echo server plus one function, to_upper(), between read and
 * write. Two details make it right where many versions are not:
 *   - it converts the n bytes that read returned, counted: the buffer is not
 *     a string (nothing ends it with a NUL, and a client may send NULs), so
 *     strlen() and the string functions have no place here;
 *   - toupper() is given an unsigned char: a byte above 127 in a plain char
 *     is negative where char is signed, and toupper() of a negative value
 *     other than EOF is undefined behaviour.
 * Each byte is converted on its own, so how TCP splits the stream into
 * reads does not matter: a word cut in two by the network still comes back
 * whole in upper case.
 *
 * The program never calls setlocale(), so it runs in the "C" locale, where
 * toupper() changes the 26 ASCII letters only. The bytes of a UTF-8 "é" come
 * back as they went: converting multi-byte characters needs the whole
 * character, and a read may end in the middle of one.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static const char usage[] = "PORT [ADDRESS]";

static void to_upper(char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)toupper((unsigned char)buf[i]);
}

/*
 * Echoes in upper case until the client closes. Whatever goes wrong ends
 * this client's session only: the caller goes back to accept().
 */
static void echo_upper(int fd, const char *peer)
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
                warn_errno("read %s", peer);   /* ECONNRESET: a reset */
            return;
        }
        to_upper(buf, (size_t)n);
        if (write_all(fd, buf, (size_t)n, &stop_requested) == -1) {
            if (errno != EINTR)
                warn_errno("write %s", peer);  /* EPIPE: the client left */
            return;
        }
    }
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    int listen_fd;

    set_progname(argv[0]);
    server_args(argc, argv, usage, &port, &host);
    setvbuf(stdout, NULL, _IOLBF, 0);
    catch_stop_signals();

    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;
    printf("listening on %s\n", local_addr(listen_fd, addr));

    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int conn_fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_len);

        if (conn_fd == -1) {
            /*
             * Out of descriptors (EMFILE; ENFILE: the whole system): the
             * client stays queued, and accept() would fail again at once.
             * This process holds at most one connection at a time, so it
             * gets here only if something else is wrong (ulimit -n tiny,
             * the system's table full): it says so and pauses instead of
             * spinning. A stop signal cuts the pause short.
             */
            if (errno == EMFILE || errno == ENFILE) {
                warn_errno("accept (trying again in a second)");
                sleep(1);
            } else if (errno != EINTR) {
                warn_errno("accept");
            }
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        printf("%s connected\n", addr);
        echo_upper(conn_fd, addr);
        close(conn_fd);
        printf("%s disconnected\n", addr);
    }

    close(listen_fd);
    return 0;
}

/*
 * Lesson 10 uclient: lesson 02's client over a Unix domain socket.
 *
 *     usage: uclient [-t stream|seqpacket] PATH
 *
 * Copies standard input to the server at PATH and the replies to standard
 * output, in lock step, exactly as lesson 02's client does; only the
 * connect is unix_connect() (unix.h) instead of tcp_connect().
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "unix.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static const char usage[] = "[-t stream|seqpacket] PATH";

int main(int argc, char *argv[])
{
    const char *server;
    char buf[4096];
    int opt, type = SOCK_STREAM, fd, status = 1;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    opterr = 0;
    while ((opt = getopt(argc, argv, "t:")) != -1) {
        if (opt == '?')
            usage_error(usage, "unknown option '-%c'", optopt);
        type = unix_type(optarg);
        if (type != SOCK_STREAM && type != SOCK_SEQPACKET)
            usage_error(usage, "invalid type '%s': expected stream or seqpacket", optarg);
    }
    if (argc - optind != 1)
        usage_error(usage, argc - optind < 1 ? "missing path" : "too many arguments");
    server = argv[optind];
    signal(SIGPIPE, SIG_IGN);

    fd = unix_connect(server, type);
    if (fd == -1)
        return 1;

    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        ssize_t got;

        if (n == 0) {
            status = 0;
            break;
        }
        if (n == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("read standard input");
            break;
        }
        if (write_all(fd, buf, (size_t)n, NULL) == -1) {
            warn_errno("write %s", server);
            break;
        }
        got = read_full(fd, buf, (size_t)n, NULL);
        if (got == -1) {
            warn_errno("read %s", server);
            break;
        }
        if (got < n) {
            warn_msg("%s closed the connection", server);
            break;
        }
        if (write_all(STDOUT_FILENO, buf, (size_t)got, NULL) == -1) {
            warn_errno("write standard output");
            break;
        }
    }
    close(fd);
    return status;
}

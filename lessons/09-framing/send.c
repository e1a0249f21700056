/*
 * Lesson 09 send: uploads a file to lesson 09's receive.
 *
 *     usage: send [-r] [-n NAME] FILE HOST PORT
 *
 * Sends the header (xfer.h: name and size), then the file's bytes, then
 * shuts down its side and waits for the receiver's one-line answer: exit 0
 * on "OK", 1 on "ERR" (printed) or when the connection fails. The name
 * sent is FILE's last part, or NAME with -n.
 *
 * On Linux the bytes go with sendfile(): the kernel copies from the file
 * to the socket, and they never pass through this process. Elsewhere, or
 * with -r, a read()/write() loop does the same. Between chunks the sender
 * looks whether the receiver has answered early (disk full, a refused
 * name) and stops sending. With standard error a terminal, a progress
 * bar shows how far it is.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"
#include "xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/sendfile.h>
#endif

static const char usage[] = "[-r] [-n NAME] FILE HOST PORT";

#define CHUNK (1024 * 1024)

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* "\r 42% [############                ]  420.0 of 1000.0 MiB", at most 10 a second. */
static void progress(unsigned long long done, unsigned long long size, int last)
{
    static double shown;
    double t = now(), part = size > 0 ? (double)done / (double)size : 1.0;
    char bar[31];

    if (!last && t - shown < 0.1)
        return;
    shown = t;
    memset(bar, ' ', 30);
    memset(bar, '#', (size_t)(part * 30));
    bar[30] = '\0';
    fprintf(stderr, "\r%3d%% [%s] %7.1f of %.1f MiB%s", (int)(part * 100), bar,
            (double)done / 1048576, (double)size / 1048576, last ? "\n" : "");
}

/* Sends up to len bytes of the file: sendfile() where it can, else a copy. */
static ssize_t send_chunk(int sock, int file, off_t offset, size_t len, int copy)
{
    static char buf[256 * 1024];
    ssize_t n;

#ifdef __linux__
    if (!copy) {
        n = sendfile(sock, file, &offset, len);
        if (n != -1 || (errno != EINVAL && errno != ENOSYS))
            return n;
        /* Some files and sockets cannot be sent this way: copy instead. */
    }
#else
    (void)copy;
#endif
    n = pread(file, buf, len < sizeof buf ? len : sizeof buf, offset);
    if (n <= 0)
        return n;
    return write_all(sock, buf, (size_t)n, NULL) == -1 ? -1 : n;
}

int main(int argc, char *argv[])
{
    const char *name = NULL, *path, *host, *port;
    unsigned char header[XFER_HEADER_MAX];
    unsigned long long sent = 0;
    struct line_reader in;
    struct sigaction ignore;
    struct stat st;
    char *reply;
    size_t reply_len;
    int copy = 0, opt, file, fd, bar = isatty(STDERR_FILENO), send_err = 0, status = 1;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    while ((opt = getopt(argc, argv, "+rn:")) != -1) {
        if (opt == 'r')
            copy = 1;
        else if (opt == 'n')
            name = optarg;
        else
            usage_error(usage, "unknown option");
    }
    if (argc - optind != 3)
        usage_error(usage, argc - optind < 3 ? "missing arguments" : "too many arguments");
    path = argv[optind];
    argv[optind] = argv[0];
    client_args(3, argv + optind, usage, &host, &port);
    if (name == NULL)
        name = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
    if (strlen(name) == 0 || strlen(name) > XFER_NAME_MAX)
        usage_error(usage, "the name must be 1 to 255 bytes: '%s'", name);

    file = open(path, O_RDONLY | O_CLOEXEC);
    if (file == -1 || fstat(file, &st) == -1)
        die_errno("%s", path);
    if (!S_ISREG(st.st_mode)) {
        warn_msg("%s: not a regular file", path);
        return 1;
    }
    /* A receiver that vanishes gives EPIPE, not death by SIGPIPE. */
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, NULL);

    fd = tcp_connect(host, port);
    if (fd == -1)
        return 1;
    if (write_all(fd, header, xfer_encode(name, strlen(name), (uint64_t)st.st_size, header),
                  NULL) == -1)
        die_errno("write header");
    while (sent < (unsigned long long)st.st_size) {
        unsigned long long left = (unsigned long long)st.st_size - sent;
        struct pollfd answer = {.fd = fd, .events = POLLIN};
        ssize_t n;

        /* The receiver only speaks before the end to refuse: stop sending. */
        if (poll(&answer, 1, 0) == 1)
            break;
        n = send_chunk(fd, file, (off_t)sent, left < CHUNK ? (size_t)left : CHUNK, copy);
        if (n == 0) {
            warn_msg("%s: the file shrank while being sent", path);
            return 1;
        }
        if (n == -1) {
            if (errno == EINTR)
                continue;
            send_err = errno;       /* the reply may still say why */
            break;
        }
        sent += (unsigned long long)n;
        if (bar)
            progress(sent, (unsigned long long)st.st_size, 0);
    }
    if (bar && send_err == 0)
        progress(sent, (unsigned long long)st.st_size, 1);
    shutdown(fd, SHUT_WR);

    if (line_reader_init(&in, fd, 512) == -1)
        die_errno("line_reader_init");
    if (line_read(&in, &reply, &reply_len, NULL) != 1) {
        if (send_err != 0)
            warn_err(send_err, "sending %s after %llu bytes", path, sent);
        else
            warn_errno("no answer from the receiver");
    } else if (strncmp(reply, "OK ", 3) != 0) {
        warn_msg("the receiver refused %s: %s", name,
                 strncmp(reply, "ERR ", 4) == 0 ? reply + 4 : reply);
    } else {
        printf("sent %s, %llu bytes\n", name, sent);
        status = 0;
    }
    line_reader_free(&in);
    close(fd);
    close(file);
    return status;
}

/*
 * probe: the driver tests/fault.bats runs under fault.so to show what the
 * shim does to an ordinary program. It only reports what it observed.
 *
 *   probe stream unix|tcp rw|sr|to N   a writer thread sends N bytes through
 *                                      a socketpair or a loopback TCP pair
 *                                      (with write/read, send/recv or
 *                                      sendto/recvfrom), main reads to EOF
 *   probe pipe N                       the same through a pipe (write/read)
 *   probe dgram N                      one N-byte datagram over a socketpair
 *   probe accept accept|accept4 K      one pending connection on a non-blocking
 *                                      listener, then K accept calls
 *
 * stream/pipe print: pid= accepts= writes= maxwrite= reads= maxread= eintr=
 * intact=yes|no. Every call counts, failed ones too. Both loops retry on
 * EINTR and short transfers, as the lessons' programs must.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum api { API_RW, API_SR, API_TO };

struct writer {
    int fd;
    enum api api;
    size_t n;
    unsigned long calls, eintr;
    size_t max;
    int err;
};

/* The names of the errors the tests inject (strerrorname_np is glibc's). */
static const char *errno_name(int e)
{
    switch (e) {
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ECONNABORTED: return "ECONNABORTED";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
    default: return NULL;
    }
}

static unsigned char out[1 << 16], in[(1 << 16) + 1], chunk[sizeof in];

static void die(const char *what)
{
    fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void *write_all(void *arg)
{
    struct writer *w = arg;
    size_t done = 0;

    while (done < w->n) {
        ssize_t r;
        w->calls++;
        if (w->api == API_RW)
            r = write(w->fd, out + done, w->n - done);
        else if (w->api == API_SR)
            r = send(w->fd, out + done, w->n - done, 0);
        else
            r = sendto(w->fd, out + done, w->n - done, 0, NULL, 0);
        if (r < 0 && errno == EINTR) {
            w->eintr++;
            continue;
        }
        if (r <= 0) {
            w->err = errno;
            break;
        }
        if ((size_t)r > w->max)
            w->max = (size_t)r;
        done += (size_t)r;
    }
    close(w->fd); /* EOF for the reader */
    return NULL;
}

/* A connected loopback TCP pair; port 0, so parallel runs never collide. */
static void tcp_pair(int fds[2], unsigned long *accepts, unsigned long *eintr)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);

    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(lfd, 1) < 0 || getsockname(lfd, (struct sockaddr *)&sa, &len) < 0)
        die("listen");
    fds[1] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[1] < 0 || connect(fds[1], (struct sockaddr *)&sa, sizeof sa) < 0)
        die("connect");
    do {
        ++*accepts;
        fds[0] = accept(lfd, NULL, NULL);
    } while (fds[0] < 0 && errno == EINTR && ++*eintr);
    if (fds[0] < 0)
        die("accept");
    close(lfd);
}

static int stream(const char *kind, const char *api_name, const char *count)
{
    struct writer w = {0};
    unsigned long accepts = 0, reads = 0, eintr = 0;
    size_t got = 0, maxread = 0;
    int fds[2]; /* [0] read end, [1] write end */
    pthread_t tid;

    w.n = strtoul(count, NULL, 10);
    if (w.n == 0 || w.n > sizeof out)
        return fprintf(stderr, "probe: bad count '%s'\n", count), 2;
    w.api = strcmp(api_name, "sr") == 0   ? API_SR
            : strcmp(api_name, "to") == 0 ? API_TO
                                          : API_RW;
    for (size_t i = 0; i < w.n; i++)
        out[i] = (unsigned char)(i * 7 + 3);

    if (strcmp(kind, "pipe") == 0) {
        if (pipe(fds) < 0)
            die("pipe");
    } else if (strcmp(kind, "unix") == 0) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
            die("socketpair");
    } else {
        tcp_pair(fds, &accepts, &eintr);
    }
    w.fd = fds[1];
    if ((errno = pthread_create(&tid, NULL, write_all, &w)) != 0)
        die("pthread_create");

    for (;;) {
        /* Room for one byte more than was sent, to notice extra data. A
         * length the compiler cannot bound makes a fortified build call
         * __read_chk, __recv_chk or __recvfrom_chk instead; an offset into
         * the buffer would hide its size from the compiler. */
        size_t room = w.n + 1 - got;
        ssize_t r;
        reads++;
        if (w.api == API_RW)
            r = read(fds[0], chunk, room);
        else if (w.api == API_SR)
            r = recv(fds[0], chunk, room, 0);
        else
            r = recvfrom(fds[0], chunk, room, 0, NULL, NULL);
        if (r < 0 && errno == EINTR) {
            eintr++;
            continue;
        }
        if (r < 0)
            die("read");
        if (r == 0)
            break;
        if ((size_t)r > maxread)
            maxread = (size_t)r;
        memcpy(in + got, chunk, (size_t)r);
        got += (size_t)r;
        if (got > w.n) /* more than was sent: not intact */
            break;
    }
    pthread_join(tid, NULL);
    if (w.err != 0)
        fprintf(stderr, "probe: write: %s\n", strerror(w.err));

    printf("pid=%ld accepts=%lu writes=%lu maxwrite=%zu reads=%lu maxread=%zu "
           "eintr=%lu intact=%s\n",
           (long)getpid(), accepts, w.calls, w.max, reads, maxread,
           eintr + w.eintr,
           got == w.n && memcmp(in, out, w.n) == 0 ? "yes" : "no");
    return 0;
}

static int dgram(const char *count)
{
    size_t n = strtoul(count, NULL, 10);
    int fds[2];

    if (n == 0 || n > sizeof out)
        return fprintf(stderr, "probe: bad count '%s'\n", count), 2;
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, fds) < 0)
        die("socketpair");
    ssize_t sent = send(fds[1], out, n, 0);
    ssize_t got = recv(fds[0], in, sizeof in, 0);
    printf("sent=%zd received=%zd\n", sent, got);
    return 0;
}

static int accepts(const char *which, const char *count)
{
    long k = strtol(count, NULL, 10);

    /* One queued connection on a non-blocking listener: a connection the
     * shim wrongly consumed shows up as EAGAIN, not as a hang. */
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(lfd, 1) < 0 || getsockname(lfd, (struct sockaddr *)&sa, &len) < 0)
        die("listen");
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("connect");

    for (long i = 1; i <= k; i++) {
        int fd = strcmp(which, "accept4") == 0
                     ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC)
                     : accept(lfd, NULL, NULL);
        const char *name = fd >= 0 ? "ok" : errno_name(errno);
        printf("%saccept%ld=%s", i > 1 ? " " : "", i, name ? name : "?");
        if (fd >= 0)
            close(fd);
    }
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "stream") == 0)
        return stream(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "pipe") == 0)
        return stream("pipe", "rw", argv[2]);
    if (argc == 3 && strcmp(argv[1], "dgram") == 0)
        return dgram(argv[2]);
    if (argc == 4 && strcmp(argv[1], "accept") == 0)
        return accepts(argv[2], argv[3]);
    fprintf(stderr, "usage: see the comment at the top of probe.c\n");
    return 2;
}

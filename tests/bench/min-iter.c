/*
 * min-iter: the smallest iterative echo server, a baseline for make bench
 * (tests/bench/server-bench), not a lesson.
 *
 *     usage: min-iter PORT
 *
 * One client at a time on 127.0.0.1: read, write back, close at end of
 * file. No log, no signal handling, no checks beyond what keeps it
 * running: what is left is the cost of the socket calls themselves, to
 * compare the lessons' servers with. SIGTERM ends it (status 143).
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Echoes one client until it closes; any error ends that client only. */
static void echo(int fd)
{
    char buf[4096];
    ssize_t n;

    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t done = 0, w; done < n; done += w)
            if ((w = write(fd, buf + done, (size_t)(n - done))) <= 0)
                return;
}

int main(int argc, char *argv[])
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;
    int one = 1, fd;

    if (argc != 2) {
        fprintf(stderr, "usage: min-iter PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sin.sin_port = htons((unsigned short)atoi(argv[1]));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
        bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 || listen(fd, SOMAXCONN) == -1 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
        perror("min-iter");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c == -1)
            continue;
        echo(c);
        close(c);
    }
}

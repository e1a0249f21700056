/*
 * min-thread: the smallest thread-per-connection echo server, a baseline for make bench
 * (tests/bench/server-bench), not a lesson.
 *
 *     usage: min-thread PORT
 *
 * min-iter's echo in one detached thread per client on 127.0.0.1, with
 * the default stack. No log. SIGTERM ends it (status 143).
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
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

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;

    echo(fd);
    close(fd);
    return NULL;
}

int main(int argc, char *argv[])
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;
    int one = 1, fd;

    if (argc != 2) {
        fprintf(stderr, "usage: min-thread PORT\n");
        return 2;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    signal(SIGPIPE, SIG_IGN);
    sin.sin_port = htons((unsigned short)atoi(argv[1]));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
        bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 || listen(fd, SOMAXCONN) == -1 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
        perror("min-thread");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c == -1)
            continue;
        pthread_t t;
        if (pthread_create(&t, &attr, serve, (void *)(intptr_t)c) != 0)
            close(c);
    }
}

/*
 * min-fork: the smallest fork-per-connection echo server, a baseline for make bench
 * (tests/bench/server-bench), not a lesson.
 *
 *     usage: min-fork PORT
 *
 * min-iter's echo in one child process per client on 127.0.0.1. The child
 * ends with _exit(), the parent reaps in a SIGCHLD handler: a reaped
 * child's CPU time is added to its parent's (cutime in /proc/PID/stat),
 * which is how the benchmark counts it. (SIGCHLD ignored would reap them
 * too, but their time would then be lost, and the server would look
 * cheaper than it is.) No log. SIGTERM ends it (status 143).
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

static void reap(int sig)
{
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        continue;
}

int main(int argc, char *argv[])
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;
    int one = 1, fd;

    if (argc != 2) {
        fprintf(stderr, "usage: min-fork PORT\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = reap, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
    sigemptyset(&sa.sa_mask);
    signal(SIGPIPE, SIG_IGN);
    sigaction(SIGCHLD, &sa, NULL);
    sin.sin_port = htons((unsigned short)atoi(argv[1]));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
        bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 || listen(fd, SOMAXCONN) == -1 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
        perror("min-fork");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c == -1)
            continue;
        if (fork() == 0) {
            close(fd);
            echo(c);
            _exit(0);
        }
        close(c);
    }
}

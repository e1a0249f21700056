/*
 * lines-threads - common/lines.c's line reader in several threads at once,
 * each with its own reader on its own socket pair, for lesson 09's tests.
 *
 *     usage: lines-threads THREADS LINES
 *
 * Each thread's writer sends LINES numbered lines in chunks of 1 to 7 bytes
 * (so that lines are cut and joined at random places), and its reader checks
 * that every line comes back whole, in order, and its own: a reader that
 * kept its state anywhere shared (a static buffer) would hand one thread's
 * bytes to another. Prints "THREADS threads, LINES lines each: all whole and
 * in order" and exits 0, or says what went wrong and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct job {
    int id, lines, fd[2];
    atomic_int failed;
};

static void *writer(void *arg)
{
    struct job *j = arg;
    unsigned seed = (unsigned)j->id * 7919u + 1;
    char line[64];

    for (int k = 0; k < j->lines; k++) {
        int n = snprintf(line, sizeof line, "thread %d line %d\n", j->id, k);

        for (int off = 0; off < n;) {
            int chunk = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 7;

            if (chunk > n - off)
                chunk = n - off;
            if (write_all(j->fd[1], line + off, (size_t)chunk, NULL) == -1) {
                j->failed = 1;
                return NULL;
            }
            off += chunk;
        }
    }
    close(j->fd[1]);
    return NULL;
}

static void *reader(void *arg)
{
    struct job *j = arg;
    struct line_reader lr;
    char want[64], *line;
    size_t len;
    int k = 0, r;

    if (line_reader_init(&lr, j->fd[0], 63) == -1) {
        j->failed = 1;
        return NULL;
    }
    while ((r = line_read(&lr, &line, &len, NULL)) == 1) {
        snprintf(want, sizeof want, "thread %d line %d", j->id, k++);
        if (len != strlen(want) || memcmp(line, want, len) != 0) {
            fprintf(stderr, "thread %d: got '%.*s', wanted '%s'\n", j->id, (int)len, line, want);
            j->failed = 1;
            break;
        }
    }
    if (r == -1 || (!j->failed && k != j->lines)) {
        fprintf(stderr, "thread %d: %d of %d lines\n", j->id, k, j->lines);
        j->failed = 1;
    }
    line_reader_free(&lr);
    close(j->fd[0]);
    return NULL;
}

int main(int argc, char *argv[])
{
    int threads, lines, failed = 0;
    struct job *jobs;
    pthread_t *t;

    set_progname(argv[0]);
    if (argc != 3 || (threads = atoi(argv[1])) < 1 || threads > 64 ||
        (lines = atoi(argv[2])) < 1)
        usage_error("THREADS LINES", "THREADS 1 to 64, LINES at least 1");
    jobs = calloc((size_t)threads, sizeof *jobs);
    t = calloc(2 * (size_t)threads, sizeof *t);
    if (jobs == NULL || t == NULL)
        die_errno("calloc");
    for (int i = 0; i < threads; i++) {
        jobs[i].id = i;
        jobs[i].lines = lines;
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, jobs[i].fd) == -1)
            die_errno("socketpair");
        int err = pthread_create(&t[2 * i], NULL, writer, &jobs[i]);

        if (err == 0)
            err = pthread_create(&t[2 * i + 1], NULL, reader, &jobs[i]);
        if (err != 0) {
            warn_err(err, "pthread_create");
            return 1;
        }
    }
    for (int i = 0; i < 2 * threads; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < threads; i++)
        failed |= jobs[i].failed;
    free(jobs);
    free(t);
    if (failed)
        return 1;
    printf("%d threads, %d lines each: all whole and in order\n", threads, lines);
    return 0;
}

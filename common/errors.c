/*
 * errors.c - messages that tell the reader what failed, where, and why.
 *
 * Every message starts with the program's name, so that output from a
 * server and a client in one terminal can be told apart:
 *
 *   server: bind 127.0.0.1:9000: Address already in use (EADDRINUSE)
 *
 * The symbolic name in brackets is what you search the man pages for.
 *
 * Needs no other file of common/: copy errors.c with errors.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "errors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "socklab";

void set_progname(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');

    prog = slash ? slash + 1 : argv0;
}

const char *progname(void)
{
    return prog;
}

/* The errno values socket programs meet; strerror() has the long text. */
const char *errno_name(int err)
{
    static const struct {
        int value;
        const char *name;
    } names[] = {
        {EACCES, "EACCES"},             {EADDRINUSE, "EADDRINUSE"},
        {EADDRNOTAVAIL, "EADDRNOTAVAIL"}, {EAFNOSUPPORT, "EAFNOSUPPORT"},
        {EAGAIN, "EAGAIN"},             {EBADF, "EBADF"},
        {ECONNABORTED, "ECONNABORTED"}, {ECONNREFUSED, "ECONNREFUSED"},
        {ECONNRESET, "ECONNRESET"},     {EHOSTUNREACH, "EHOSTUNREACH"},
        {EINPROGRESS, "EINPROGRESS"},   {EINTR, "EINTR"},
        {EINVAL, "EINVAL"},             {EIO, "EIO"},
        {EMFILE, "EMFILE"},             {ENETUNREACH, "ENETUNREACH"},
        {ENFILE, "ENFILE"},             {ENOBUFS, "ENOBUFS"},
        {ENOMEM, "ENOMEM"},             {ENOTCONN, "ENOTCONN"},
        {ENOTSOCK, "ENOTSOCK"},         {EPERM, "EPERM"},
        {EPIPE, "EPIPE"},               {EPROTO, "EPROTO"},
        {ETIMEDOUT, "ETIMEDOUT"},       {EMSGSIZE, "EMSGSIZE"},
        {ENOENT, "ENOENT"},             {EEXIST, "EEXIST"},
        {ENOSPC, "ENOSPC"},             {EFBIG, "EFBIG"},
        {ENAMETOOLONG, "ENAMETOOLONG"},
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].value == err)
            return names[i].name;
    return NULL;
}

static void vreport(int err, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vreport(int err, const char *fmt, va_list ap)
{
    /*
     * One buffer and one write(2), not stdio: lines from two threads never
     * mix, and no thread waits for a stdio lock held by another thread
     * that is stuck writing to a stderr nobody reads. A stop signal
     * interrupts a write that is stuck itself, and the line is dropped.
     */
    char line[512];
    size_t len;
    int n = snprintf(line, sizeof line, "%s: ", prog);

    if (n > 0 && (size_t)n < sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    if (err != 0 && n > 0 && (size_t)n < sizeof line) {
        const char *name = errno_name(err);

        if (name != NULL)
            snprintf(line + n, sizeof line - (size_t)n, ": %s (%s)", strerror(err), name);
        else
            snprintf(line + n, sizeof line - (size_t)n, ": %s", strerror(err));
    }
    len = strlen(line);
    if (len == sizeof line - 1)
        len--;                          /* truncated: make room for the newline */
    line[len++] = '\n';
    if (write(STDERR_FILENO, line, len) == -1)
        return;                         /* nowhere left to report it */
}

void warn_msg(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(0, fmt, ap);
    va_end(ap);
}

void warn_errno(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    vreport(saved, fmt, ap);
    va_end(ap);
    errno = saved;
}

void warn_err(int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(err, fmt, ap);
    va_end(ap);
}

void die_errno(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    vreport(saved, fmt, ap);
    va_end(ap);
    exit(1);
}

void usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(0, fmt, ap);
    va_end(ap);
    fprintf(stderr, "usage: %s %s\n", prog, usage);
    exit(2);
}

int wants_help(int argc, char *argv[])
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

void print_usage(const char *usage)
{
    printf("usage: %s %s\n", prog, usage);
}

/*
 * errors.h - messages that name the program, the call, the address and
 * the reason (errors.c), and the command-line helpers every program uses.
 * Needs no other file of common/; net.c, signals.c and accept.c need it.
 */
#ifndef SOCKLAB_ERRORS_H
#define SOCKLAB_ERRORS_H

/* Remembers the program's name (the last part of argv[0]) for messages. */
void set_progname(const char *argv0);
const char *progname(void);

/* "prog: MESSAGE" on stderr. */
void warn_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: MESSAGE: strerror(errno) (ENAME)" on stderr; errno is kept. */
void warn_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same as warn_errno() for an errno value held elsewhere. */
void warn_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* warn_errno(), then exit(1). */
_Noreturn void die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "EADDRINUSE" for EADDRINUSE, or NULL for a value the table does not know. */
const char *errno_name(int err);

/*
 * Command lines. Each program has a usage line such as "PORT [ADDRESS]".
 * usage_error() prints "prog: MESSAGE" and the usage to stderr, exits 2.
 * wants_help() is true for -h and --help; print_usage() then writes the
 * usage to stdout and the program exits 0.
 */
_Noreturn void usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int wants_help(int argc, char *argv[]);
void print_usage(const char *usage);

#endif

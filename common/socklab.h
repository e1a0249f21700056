/*
 * socklab.h - the small helper every lesson links.
 *
 * Five files, each short enough to read in a few minutes:
 *   errors.c   reporting errors with the program's name and errno's name
 *   net.c      port parsing, address printing, tcp_listen(), tcp_connect()
 *   io.c       full reads and writes that survive short transfers and EINTR
 *   signals.c  a clean shutdown on SIGINT/SIGTERM
 *   accept.c   accept() that survives running out of descriptors
 *
 * Lesson 01 spells every call out by hand; from lesson 02 on, the lessons use
 * these helpers for what an earlier chapter has already explained.
 */
#ifndef SOCKLAB_H
#define SOCKLAB_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* ---- errors.c ---------------------------------------------------------- */

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

/* ---- net.c ------------------------------------------------------------- */

/* Room for "[ffff:...:ffff%interface]:65535" and its terminating NUL. */
#define ADDR_STRLEN 80

/*
 * Parses a port strictly: the whole string, digits only, 0..65535.
 * Returns 0 and stores it, or -1 ("", "abc", "-1", "70000", "9000x").
 */
int parse_port(const char *s, unsigned short *port);

/*
 * The two command lines every lesson shares: "server PORT [ADDRESS]" (the
 * address defaults to 127.0.0.1) and "client HOST PORT". Both handle -h and
 * --help, and exit 2 with a message naming the bad value.
 */
void server_args(int argc, char *argv[], const char *usage,
                 const char **port, const char **host);
void client_args(int argc, char *argv[], const char *usage,
                 const char **host, const char **port);

/* Writes "127.0.0.1:9000" or "[::1]:9000" into buf; returns buf. */
char *format_addr(const struct sockaddr *sa, socklen_t len, char buf[ADDR_STRLEN]);
/* The same for a socket's own address (getsockname) or its peer's. */
char *local_addr(int fd, char buf[ADDR_STRLEN]);
char *peer_addr(int fd, char buf[ADDR_STRLEN]);

/*
 * Resolves host and port (IPv4 or IPv6, literal or name) and returns a
 * listening TCP socket with SO_REUSEADDR set, bound to the first address
 * that works. Returns -1 after printing why each address failed.
 */
int tcp_listen(const char *host, const char *port, int backlog);

/* Connects to the first address of host:port that accepts; -1 as above. */
int tcp_connect(const char *host, const char *port);

/* ---- accept.c --------------------------------------------------------- */

/*
 * accept() for a server that holds many connections. On success: the new
 * descriptor, and the client's address in *peer. On EMFILE or ENFILE (out
 * of descriptors) it waits for a client as accept() would, refuses it with
 * a clean close, logs that, and returns -1 with errno EMFILE: the caller
 * just goes on. Any other failure: -1 with errno from accept() or the wait
 * (EINTR, ECONNABORTED, EAGAIN on a non-blocking socket, ...).
 */
int accept_client(int listen_fd, struct sockaddr_storage *peer, socklen_t *peer_len);

/* ---- io.c: see io.h ---------------------------------------------------- */

#include "io.h"

/* ---- signals.c --------------------------------------------------------- */

/*
 * Set to 1 by SIGINT or SIGTERM once catch_stop_signals() is in force.
 * A lock-free atomic rather than the classic volatile sig_atomic_t: the
 * handler runs in one thread and lesson 04's threads read the flag in
 * others, and C11 lets only an atomic be shared both ways.
 */
extern atomic_int stop_requested;

/*
 * SIGINT and SIGTERM set stop_requested and interrupt a blocked call with
 * EINTR; SIGPIPE is ignored, so writing to a vanished peer gives EPIPE
 * instead of killing the process.
 */
void catch_stop_signals(void);

#endif

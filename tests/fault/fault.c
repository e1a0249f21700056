/*
 * fault.so: fault injection for socklab's tests, loaded with LD_PRELOAD.
 *
 * Loopback almost never produces short reads, short writes, EINTR or failing
 * accept calls, yet real networks and busy machines do. This library makes
 * them happen on demand so the tests can drive every retry and error path.
 *
 * Variables, read once at load. With none set, every call passes straight
 * through.
 *
 *   SOCKLAB_FAULT_MAXIO=N      each read/recv/recvfrom/write/send/sendto on a
 *                              stream socket moves at most N bytes (N >= 1).
 *                              N=1 gives 1-byte reads and short writes.
 *                              Datagram sockets are left alone: clamping would
 *                              truncate datagrams, which no network does.
 *   SOCKLAB_FAULT_EINTR=N      every Nth call on a socket (the six above plus
 *                              accept/accept4, one shared counter) fails with
 *                              EINTR and does nothing. N >= 2: with N=1 a
 *                              program that retries on EINTR never gets through.
 *   SOCKLAB_FAULT_ACCEPT=E[:C] the first C (default 1) accept/accept4 calls fail
 *                              with errno E, given by name (ECONNABORTED,
 *                              EMFILE, ENFILE, ENOBUFS, ENOMEM, EPROTO, EPERM,
 *                              ...), and leave the pending connection queued.
 *                              Takes precedence over an EINTR on the same call.
 *   SOCKLAB_FAULT_WRITE0=C     the first C write/send/sendto calls on a stream
 *                              socket return 0 and send nothing (what a
 *                              faulty device or wrapper may do), so that a
 *                              loop that retries a 0 for ever shows.
 *   SOCKLAB_FAULT_CONNECT_EINTR=C
 *                              the first C connect calls on a stream socket
 *                              are made, then report -1/EINTR as if a signal
 *                              had arrived during the handshake: the
 *                              connection goes on (or is made) regardless, as
 *                              it does on Linux. A connect that fails returns
 *                              its own error.
 *   SOCKLAB_FAULT_LOG=PATH     at normal exit (return from main, exit()) append
 *                                pid=P accept=N read=N write=N eintr=N
 *                              counting calls seen on sockets, failed ones too:
 *                              read = read+recv+recvfrom, write =
 *                              write+send+sendto, eintr = injected EINTRs.
 *                              One line per process; a forked child counts from
 *                              zero; _exit() writes its line too, fatal
 *                              signals write nothing.
 *
 * A bad value (not a whole number, out of range, an unknown errno name)
 * prints a message and aborts at load: a test must never run silently
 * without the fault it asked for.
 *
 * Only sockets are touched (getsockopt(SO_TYPE) fails on anything else), so
 * stdin, stdout, pipes and log files behave normally. Fortified builds
 * (-D_FORTIFY_SOURCE) call __read_chk, __recv_chk and __recvfrom_chk instead
 * of read, recv and recvfrom, so those are wrapped as well.
 *
 * The target must be dynamically linked. Under AddressSanitizer also set
 * ASAN_OPTIONS=verify_asan_link_order=0: ASan refuses to start when a
 * preloaded library comes before its runtime in the link order.
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE /* a fortified read() in the headers would clash with ours */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* glibc's types for the address parameter; musl declares plain pointers. */
#ifndef __GLIBC__
#define __SOCKADDR_ARG struct sockaddr *restrict
#define __CONST_SOCKADDR_ARG const struct sockaddr *
#endif

/* Not declared unless the includer is fortified. */
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *restrict buf, size_t len, size_t buflen,
                       int flags, __SOCKADDR_ARG addr,
                       socklen_t *restrict addrlen);

static struct {
    bool active; /* anything to inject or count at all */
    size_t maxio;
    unsigned long eintr_every;
    unsigned long accept_fails;
    int accept_errno;
    unsigned long write0;
    unsigned long connect_eintr;
    char log_path[4096];
} cfg;

enum op { OP_ACCEPT, OP_READ, OP_WRITE, OP_COUNT };

/* Statistics for the log; reset in a forked child. */
static atomic_ulong seen[OP_COUNT];
static atomic_ulong eintrs;
/* Fault state; a forked child carries on where the parent was. */
static atomic_ulong socket_calls;
static atomic_ulong accept_calls;
static atomic_ulong write0_calls;
static atomic_ulong connect_calls;

/* dlsym returns void *, and ISO C has no cast from that to a function
 * pointer; copying the bytes is the portable spelling POSIX relies on. */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
               "function pointers must fit in void *");

static void next_symbol(_Atomic(void *) *slot, const char *name, void *fn,
                        size_t size)
{
    void *p = atomic_load_explicit(slot, memory_order_acquire);
    if (p == NULL) {
        /* Racing threads all get the same answer, so no lock is needed. */
        p = dlsym(RTLD_NEXT, name);
        if (p == NULL) {
            fprintf(stderr, "fault.so: no next definition of %s\n", name);
            abort();
        }
        atomic_store_explicit(slot, p, memory_order_release);
    }
    memcpy(fn, &p, size);
}

#define REAL(fn, name)                                                  \
    do {                                                                \
        static _Atomic(void *) slot_;                                   \
        next_symbol(&slot_, name, &(fn), sizeof(fn));                   \
    } while (0)

/* SO_TYPE of fd, or 0 if fd is not a socket. */
static int socket_type(int fd)
{
    int saved = errno, type;
    socklen_t size = sizeof type;
    int rc = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size);
    errno = saved; /* a successful call must not change errno */
    return rc == 0 ? type : 0;
}

/* Decide the fate of one call. Returns true (errno set) when the call must
 * fail without being made; otherwise may shrink *len. */
static bool inject(int fd, enum op op, size_t *len)
{
    int type = 0;

    if (!cfg.active)
        return false;
    if (op != OP_ACCEPT && (type = socket_type(fd)) == 0)
        return false;
    atomic_fetch_add(&seen[op], 1);
    unsigned long call = atomic_fetch_add(&socket_calls, 1) + 1;
    if (op == OP_ACCEPT &&
        atomic_fetch_add(&accept_calls, 1) < cfg.accept_fails) {
        errno = cfg.accept_errno;
        return true;
    }
    if (cfg.eintr_every != 0 && call % cfg.eintr_every == 0) {
        atomic_fetch_add(&eintrs, 1);
        errno = EINTR;
        return true;
    }
    if (op == OP_WRITE && type == SOCK_STREAM &&
        atomic_fetch_add(&write0_calls, 1) < cfg.write0) {
        errno = 0;
        return true;          /* the wrapper returns 0, not -1 */
    }
    if (len != NULL && type == SOCK_STREAM && cfg.maxio != 0 &&
        *len > cfg.maxio)
        *len = cfg.maxio;
    return false;
}

ssize_t read(int fd, void *buf, size_t len)
{
    ssize_t (*real)(int, void *, size_t);
    REAL(real, "read");
    return inject(fd, OP_READ, &len) ? -1 : real(fd, buf, len);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    ssize_t (*real)(int, void *, size_t, int);
    REAL(real, "recv");
    return inject(fd, OP_READ, &len) ? -1 : real(fd, buf, len, flags);
}

ssize_t recvfrom(int fd, void *restrict buf, size_t len, int flags,
                 __SOCKADDR_ARG addr, socklen_t *restrict addrlen)
{
    ssize_t (*real)(int, void *restrict, size_t, int, __SOCKADDR_ARG,
                    socklen_t *restrict);
    REAL(real, "recvfrom");
    return inject(fd, OP_READ, &len) ? -1
                                      : real(fd, buf, len, flags, addr, addrlen);
}

/* The _chk variants abort when len > buflen; leave such calls untouched so
 * a clamp cannot hide the overflow. */
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
    ssize_t (*real)(int, void *, size_t, size_t);
    REAL(real, "__read_chk");
    if (len <= buflen && inject(fd, OP_READ, &len))
        return -1;
    return real(fd, buf, len, buflen);
}

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    ssize_t (*real)(int, void *, size_t, size_t, int);
    REAL(real, "__recv_chk");
    if (len <= buflen && inject(fd, OP_READ, &len))
        return -1;
    return real(fd, buf, len, buflen, flags);
}

ssize_t __recvfrom_chk(int fd, void *restrict buf, size_t len, size_t buflen,
                       int flags, __SOCKADDR_ARG addr,
                       socklen_t *restrict addrlen)
{
    ssize_t (*real)(int, void *restrict, size_t, size_t, int, __SOCKADDR_ARG,
                    socklen_t *restrict);
    REAL(real, "__recvfrom_chk");
    if (len <= buflen && inject(fd, OP_READ, &len))
        return -1;
    return real(fd, buf, len, buflen, flags, addr, addrlen);
}

/* An injected failure with errno 0 is a write that took nothing. */
static ssize_t failed_write(void)
{
    if (errno != 0)
        return -1;
    return 0;
}

ssize_t write(int fd, const void *buf, size_t len)
{
    ssize_t (*real)(int, const void *, size_t);
    REAL(real, "write");
    return inject(fd, OP_WRITE, &len) ? failed_write() : real(fd, buf, len);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    ssize_t (*real)(int, const void *, size_t, int);
    REAL(real, "send");
    return inject(fd, OP_WRITE, &len) ? failed_write() : real(fd, buf, len, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
               __CONST_SOCKADDR_ARG addr, socklen_t addrlen)
{
    ssize_t (*real)(int, const void *, size_t, int, __CONST_SOCKADDR_ARG,
                    socklen_t);
    REAL(real, "sendto");
    return inject(fd, OP_WRITE, &len) ? failed_write()
                                       : real(fd, buf, len, flags, addr, addrlen);
}

/* glibc declares the address as a transparent union under _GNU_SOURCE;
 * the definitions must match it exactly. */
int accept(int fd, __SOCKADDR_ARG addr, socklen_t *restrict addrlen)
{
    int (*real)(int, __SOCKADDR_ARG, socklen_t *restrict);
    REAL(real, "accept");
    return inject(fd, OP_ACCEPT, NULL) ? -1 : real(fd, addr, addrlen);
}

int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *restrict addrlen,
            int flags)
{
    int (*real)(int, __SOCKADDR_ARG, socklen_t *restrict, int);
    REAL(real, "accept4");
    return inject(fd, OP_ACCEPT, NULL) ? -1 : real(fd, addr, addrlen, flags);
}

/* The connection is really started: only the report is changed, as when a
 * signal interrupts a blocking connect() whose handshake then completes. */
int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t addrlen)
{
    int (*real)(int, __CONST_SOCKADDR_ARG, socklen_t);
    int rc;

    REAL(real, "connect");
    rc = real(fd, addr, addrlen);
    if (cfg.connect_eintr != 0 && (rc == 0 || errno == EINPROGRESS) &&
        socket_type(fd) == SOCK_STREAM &&
        atomic_fetch_add(&connect_calls, 1) < cfg.connect_eintr) {
        atomic_fetch_add(&eintrs, 1);
        errno = EINTR;
        return -1;
    }
    return rc;
}

/* ---- configuration ---- */

#define ERRNO_ENTRY(e) { #e, e }
static const struct {
    const char *name;
    int value;
} errno_names[] = {
    ERRNO_ENTRY(ECONNABORTED), ERRNO_ENTRY(EMFILE),     ERRNO_ENTRY(ENFILE),
    ERRNO_ENTRY(ENOBUFS),      ERRNO_ENTRY(ENOMEM),     ERRNO_ENTRY(EPROTO),
    ERRNO_ENTRY(EPERM),        ERRNO_ENTRY(EINTR),      ERRNO_ENTRY(EAGAIN),
    ERRNO_ENTRY(EWOULDBLOCK),  ERRNO_ENTRY(ECONNRESET), ERRNO_ENTRY(ETIMEDOUT),
    ERRNO_ENTRY(ENETDOWN),     ERRNO_ENTRY(ENETUNREACH),
    ERRNO_ENTRY(EHOSTDOWN),    ERRNO_ENTRY(EHOSTUNREACH),
    ERRNO_ENTRY(ENONET),       ERRNO_ENTRY(ENOPROTOOPT),
    ERRNO_ENTRY(EOPNOTSUPP),   ERRNO_ENTRY(EBADF),      ERRNO_ENTRY(EINVAL),
};

/* A whole number in [min, 10^9]; anything else aborts, naming the variable. */
static unsigned long parse_number(const char *var, const char *text,
                                  unsigned long min)
{
    unsigned long n = 0;
    const char *p = text;

    for (; *p >= '0' && *p <= '9' && n <= 100000000UL; p++)
        n = n * 10 + (unsigned long)(*p - '0');
    if (*p != '\0' || p == text || n < min || n > 1000000000UL) {
        fprintf(stderr,
                "fault.so: %s='%s': want a whole number from %lu to "
                "1000000000\n",
                var, text, min);
        abort();
    }
    return n;
}

static void parse_accept(const char *value)
{
    const char *colon = strchr(value, ':');
    int name_len = (int)(colon ? (size_t)(colon - value) : strlen(value));
    size_t i = 0, count = sizeof errno_names / sizeof errno_names[0];

    while (i < count && !(strlen(errno_names[i].name) == (size_t)name_len &&
                          strncmp(errno_names[i].name, value,
                                  (size_t)name_len) == 0))
        i++;
    if (i == count) {
        fprintf(stderr, "fault.so: unknown errno name '%.*s'\n", name_len,
                value);
        abort();
    }
    cfg.accept_errno = errno_names[i].value;
    cfg.accept_fails =
        colon ? parse_number("SOCKLAB_FAULT_ACCEPT count", colon + 1, 1) : 1;
}

static void reset_stats(void)
{
    for (int op = 0; op < OP_COUNT; op++)
        atomic_store(&seen[op], 0);
    atomic_store(&eintrs, 0);
}

__attribute__((constructor)) static void load_config(void)
{
    const char *v;

    /* Errors below print through stdio while cfg.active is still false,
     * so the messages themselves cannot be faulted. */
    if ((v = getenv("SOCKLAB_FAULT_MAXIO")) != NULL)
        cfg.maxio = parse_number("SOCKLAB_FAULT_MAXIO", v, 1);
    if ((v = getenv("SOCKLAB_FAULT_EINTR")) != NULL)
        cfg.eintr_every = parse_number("SOCKLAB_FAULT_EINTR", v, 2);
    if ((v = getenv("SOCKLAB_FAULT_ACCEPT")) != NULL)
        parse_accept(v);
    if ((v = getenv("SOCKLAB_FAULT_WRITE0")) != NULL)
        cfg.write0 = parse_number("SOCKLAB_FAULT_WRITE0", v, 1);
    if ((v = getenv("SOCKLAB_FAULT_CONNECT_EINTR")) != NULL)
        cfg.connect_eintr = parse_number("SOCKLAB_FAULT_CONNECT_EINTR", v, 1);
    if ((v = getenv("SOCKLAB_FAULT_LOG")) != NULL) {
        /* Copied: the program may change its environment before exit. */
        int n = snprintf(cfg.log_path, sizeof cfg.log_path, "%s", v);
        if (n <= 0 || (size_t)n >= sizeof cfg.log_path) {
            fprintf(stderr, "fault.so: SOCKLAB_FAULT_LOG: bad path\n");
            abort();
        }
        pthread_atfork(NULL, NULL, reset_stats);
    }
    cfg.active = cfg.maxio != 0 || cfg.eintr_every != 0 ||
                 cfg.accept_fails != 0 || cfg.write0 != 0 ||
                 cfg.log_path[0] != '\0';
}

__attribute__((destructor)) static void write_log(void)
{
    char line[200];

    if (cfg.log_path[0] == '\0')
        return;
    int n = snprintf(line, sizeof line,
                     "pid=%ld accept=%lu read=%lu write=%lu eintr=%lu\n",
                     (long)getpid(), atomic_load(&seen[OP_ACCEPT]),
                     atomic_load(&seen[OP_READ]), atomic_load(&seen[OP_WRITE]),
                     atomic_load(&eintrs));
    /* One O_APPEND write keeps lines from concurrent processes whole. */
    int fd = open(cfg.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                  0644);
    if (fd < 0 || write(fd, line, (size_t)n) != n)
        fprintf(stderr, "fault.so: cannot write %s: %s\n", cfg.log_path,
                strerror(errno));
    if (fd >= 0)
        close(fd);
}

/* A forked child that leaves with _exit() (lesson 03's do) runs no
 * destructors: its line is written here. exit() reaches the real _exit
 * inside libc, not through this one, so no line is written twice. */
void _exit(int status)
{
    void (*real)(int);
    write_log();
    REAL(real, "_exit");
    real(status);
    abort(); /* not reached: _exit must not return */
}

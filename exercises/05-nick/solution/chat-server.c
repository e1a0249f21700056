/*
 * Exercise 05-nick, reference solution: lesson 05's chat server with
 * nicknames and two commands.
 *
 *     usage: chat-server PORT [ADDRESS]
 *
 * A line that starts with '/' is a command for the server, never a message:
 *
 *     /nick bob    you get "* you are now bob", the others
 *                  "* 127.0.0.1:51234 is now bob"; from then on your lines
 *                  reach them as "bob: hello"
 *     /quit        you get "* bye" and the server closes the connection;
 *                  the others get "* bob left"
 *
 * anything else starting with '/' is answered "* unknown command: ...".
 * A nickname is 1 to 16 letters, digits, '-' or '_', and belongs to one
 * client at a time. Those rules keep a name from passing for an address
 * (no '.', ':' or '[') and from forging a line of its own ("bob: hi" as a
 * name, or a newline). Everything the server itself says starts with "* ".
 *
 * Lines are cut as in lesson 05 (at most MAX_LINE - 1 characters), and a
 * client's last line needs no newline: "/quit" then works too. The changes
 * from lesson 05's chat-server.c: a nickname in each client's slot,
 * name_of() wherever the address used to name a client, and handle_line()
 * between take_lines() and say(), which passes commands to command().
 * take_lines() stops at /quit: what a client sent after it is never
 * delivered.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#ifndef PIPE_BUF
#define PIPE_BUF _POSIX_PIPE_BUF    /* a system may leave it to pathconf() */
#endif

static const char usage[] = "PORT [ADDRESS]";

/* Messages a client may leave unread before it is dropped. */
#define OUT_CAP (64 * 1024)
/* The longest line, newline included, delivered in one piece. */
#define MAX_LINE 1024
/* The longest nickname: short enough to fit any line's prefix. */
#define NICK_MAX 16

struct client {
    char addr[ADDR_STRLEN];
    char nick[NICK_MAX + 1];    /* "" until the client chooses one */
    int left;                   /* it sent EOF, or failed: no more messages */
    int dead;                   /* to be closed at the end of this turn */
    int cutting;                /* discarding the rest of an over-long line */
    size_t in_len;              /* a line not finished yet: in[0..in_len) */
    char in[MAX_LINE];
    size_t out_start, out_end;  /* bytes not sent yet: out[out_start..out_end) */
    char out[OUT_CAP];
};

/* One slot per descriptor select() can watch; NULL where no client is. */
static struct client *clients[FD_SETSIZE];

static unsigned long log_dropped;  /* log lines stdout did not take */

/* musl's FD_SET and FD_ISSET compute in unsigned long: hand them an
 * unsigned descriptor (ours are never negative) to keep -Wconversion quiet. */
static void watch(int fd, fd_set *set) { FD_SET((unsigned)fd, set); }
static int is_ready(int fd, const fd_set *set) { return FD_ISSET((unsigned)fd, set); }

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags == -1)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Milliseconds on a clock that no change of the date can move. */
static long long now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Is stdout writable now? (A zero timeout: pselect() only looks.) */
static int stdout_writable(void)
{
    fd_set writable;
    struct timespec now = {0, 0};

    FD_ZERO(&writable);
    watch(STDOUT_FILENO, &writable);
    return pselect(STDOUT_FILENO + 1, NULL, &writable, NULL, &now, NULL) == 1;
}

/*
 * A write() to a stdout that nobody reads (a stalled `| less`) would sleep
 * with the stop signals blocked: the server could never stop. So a line is
 * written only when stdout is writable now, and is otherwise dropped and
 * counted; the count goes out with the next line that is written. Linux
 * calls a pipe writable once a page is free, and a write() of at most
 * PIPE_BUF bytes then goes in whole, at once.
 */
__attribute__((format(printf, 1, 2)))
static void log_line(const char *fmt, ...)
{
    char line[2 * ADDR_STRLEN + 64];
    size_t len = 0;
    va_list ap;
    int n;

    if (!stdout_writable()) {
        log_dropped++;
        return;
    }
    if (log_dropped > 0) {
        n = snprintf(line, sizeof line,
                     "%s: %lu log lines dropped: stdout was not read\n",
                     progname(), log_dropped);
        len = (size_t)n;
    }
    va_start(ap, fmt);
    n = vsnprintf(line + len, sizeof line - len, fmt, ap);
    va_end(ap);
    len += (size_t)n;
    if (len >= sizeof line)
        len = sizeof line - 1;      /* cut (our lines are shorter) */
    _Static_assert(sizeof line <= PIPE_BUF, "a log line must go into a pipe whole");
    if (write(STDOUT_FILENO, line, len) == (ssize_t)len)
        log_dropped = 0;
    else
        log_dropped++;              /* EPIPE: the reader has gone */
}

/* Sends what the socket takes now; the rest waits for the next turn. */
static void flush_client(int fd)
{
    struct client *c = clients[fd];

    while (c->out_start < c->out_end) {
        ssize_t n = write(fd, c->out + c->out_start, c->out_end - c->out_start);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;             /* full: pselect() says when there is room */
            warn_errno("write %s", c->addr);   /* EPIPE, ECONNRESET */
            c->dead = 1;
            return;
        }
        c->out_start += (size_t)n;
    }
    c->out_start = c->out_end = 0;
    if (c->left)
        c->dead = 1;                /* its last messages are out: close */
}

/* Appends a message to a client's output, or drops a client that is too
 * far behind: one slow reader must not stall, or bloat, the server. */
static void send_to(int fd, const char *msg, size_t len)
{
    struct client *c = clients[fd];

    if (c->out_end + len > OUT_CAP) {
        memmove(c->out, c->out + c->out_start, c->out_end - c->out_start);
        c->out_end -= c->out_start;
        c->out_start = 0;
    }
    if (c->out_end + len > OUT_CAP) {
        warn_msg("dropping %s: more than %d bytes of messages unread",
                 c->addr, OUT_CAP);
        c->dead = 1;
        return;
    }
    memcpy(c->out + c->out_end, msg, len);
    c->out_end += len;
    flush_client(fd);
}

/* Sends a message to every client still in the conversation but one. */
static void broadcast(int from, const char *msg, size_t len)
{
    for (int fd = 0; fd < FD_SETSIZE; fd++) {
        struct client *c = clients[fd];

        if (c != NULL && fd != from && !c->left && !c->dead)
            send_to(fd, msg, len);
    }
}

/* The name the others know a client by: its nickname, or its address. */
static const char *name_of(int fd)
{
    return clients[fd]->nick[0] != '\0' ? clients[fd]->nick : clients[fd]->addr;
}

/* A message from the server to one client only. */
static void reply(int fd, const char *msg)
{
    send_to(fd, msg, strlen(msg));
}

static void announce(int fd, const char *what)
{
    char msg[ADDR_STRLEN + 16];
    int n = snprintf(msg, sizeof msg, "* %s %s\n", name_of(fd), what);

    broadcast(fd, msg, (size_t)n);
}

/* Delivers a line of fd's (without its newline) to the others as
 * "NAME: line\n". */
static void say(int fd, const char *line, size_t len)
{
    char msg[ADDR_STRLEN + 2 + MAX_LINE];
    int prefix = snprintf(msg, sizeof msg, "%s: ", name_of(fd));
    size_t n = (size_t)prefix;

    /* memcpy, not %s: a line may hold NUL bytes, and they go through. */
    memcpy(msg + n, line, len);
    n += len;
    msg[n++] = '\n';
    broadcast(fd, msg, n);
}

/* Letters, digits, '-' and '_', spelt out: isalnum() would follow the
 * locale, and strchr("...", ch) would accept a NUL byte, since it finds
 * the string's terminator. */
static int nick_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

static int valid_nick(const char *name, size_t len)
{
    if (len == 0 || len > NICK_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!nick_char((unsigned char)name[i]))
            return 0;
    return 1;
}

/* /nick NAME: the new name goes to its owner and to the others. */
static void set_nick(int fd, const char *name, size_t len)
{
    struct client *c = clients[fd];
    char nick[NICK_MAX + 1], msg[ADDR_STRLEN + NICK_MAX + 16];

    if (!valid_nick(name, len)) {
        reply(fd, "* invalid nickname: use 1 to 16 letters, digits, - or _\n");
        return;
    }
    memcpy(nick, name, len);
    nick[len] = '\0';
    for (int other = 0; other < FD_SETSIZE; other++) {
        if (other != fd && clients[other] != NULL &&
            strcmp(clients[other]->nick, nick) == 0) {
            snprintf(msg, sizeof msg, "* nickname %s is taken\n", nick);
            reply(fd, msg);
            return;
        }
    }
    if (strcmp(c->nick, nick) != 0) {  /* taking one's own name changes nothing */
        snprintf(msg, sizeof msg, "* %s is now %s\n", name_of(fd), nick);
        broadcast(fd, msg, strlen(msg));
        memcpy(c->nick, nick, sizeof nick);
    }
    snprintf(msg, sizeof msg, "* you are now %s\n", nick);
    reply(fd, msg);
}

/* The client is gone from the conversation: the others are told. */
static void leave(int fd)
{
    clients[fd]->left = 1;
    announce(fd, "left");
}

/* /quit: the others are told at once, the client once its output is out.
 * Leaving first matters: flush_client() closes a client that has left as
 * soon as its buffer is empty, and reply() flushes. */
static void quit(int fd)
{
    leave(fd);
    reply(fd, "* bye\n");
}

/* A line that starts with '/': the command is its first word. */
static void command(int fd, const char *line, size_t len)
{
    const char *space = memchr(line, ' ', len);
    const char *arg = space != NULL ? space + 1 : line + len;
    size_t word = space != NULL ? (size_t)(space - line) : len;

    /* The whole word must match: "/quitter" is not "/quit". */
    if (word == 5 && memcmp(line, "/nick", 5) == 0)
        set_nick(fd, arg, (size_t)(line + len - arg));
    else if (word == 5 && memcmp(line, "/quit", 5) == 0)
        quit(fd);
    else
        reply(fd, "* unknown command: the commands are /nick NAME and /quit\n");
}

/* One line from fd, its newline (if any) included: a command or a message. */
static void handle_line(int fd, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len > 0 && line[0] == '/')
        command(fd, line, len);
    else
        say(fd, line, len);
}

/* Delivers every complete line in the input buffer and keeps the rest. */
static void take_lines(int fd)
{
    struct client *c = clients[fd];
    size_t start = 0;
    char *nl;

    /* After /quit (or a failed reply) nothing more of this client's counts. */
    while (!c->left && !c->dead &&
           (nl = memchr(c->in + start, '\n', c->in_len - start)) != NULL) {
        size_t end = (size_t)(nl - c->in) + 1;

        if (!c->cutting)
            handle_line(fd, c->in + start, end - start);
        c->cutting = 0;
        start = end;
    }
    if (c->left || c->dead) {
        c->in_len = 0;
        return;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    if (c->in_len == MAX_LINE) {    /* full, and no newline: cut the line */
        if (!c->cutting)
            handle_line(fd, c->in, MAX_LINE - 1);
        c->cutting = 1;
        c->in_len = 0;
    }
}

/*
 * Closes the clients marked dead. Telling the others that one has left can
 * overflow another slow reader and mark it dead in turn, so this goes on
 * until a pass finds none.
 */
static void reap_clients(void)
{
    int again = 1;

    while (again) {
        again = 0;
        for (int fd = 0; fd < FD_SETSIZE; fd++) {
            if (clients[fd] == NULL || !clients[fd]->dead)
                continue;
            if (!clients[fd]->left)
                leave(fd);
            log_line("%s disconnected\n", clients[fd]->addr);
            free(clients[fd]);
            clients[fd] = NULL;
            close(fd);
            again = 1;
        }
    }
}

/* Accepts every client waiting in the listen queue. -1 when the queue could
 * not be emptied (out of descriptors): the caller leaves it alone a while. */
static int accept_waiting(int listen_fd)
{
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t peer_len;
        char addr[ADDR_STRLEN];
        struct client *c;
        int fd = accept_client(listen_fd, &peer, &peer_len);

        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;           /* nobody else is waiting */
            /* accept_client() has logged EMFILE (and refused a client if
             * it could); anything else (ENOBUFS, ...) is said here. */
            if (errno != EMFILE)
                warn_errno("accept");
            return -1;
        }
        format_addr((struct sockaddr *)&peer, peer_len, addr);
        /* FD_SET() on such a descriptor would write past the fd_set. */
        if (fd >= FD_SETSIZE) {
            close(fd);
            warn_msg("refusing %s: descriptor %d >= FD_SETSIZE (%d)",
                     addr, fd, FD_SETSIZE);
            continue;
        }
        if (set_nonblocking(fd) == -1 || (c = malloc(sizeof *c)) == NULL) {
            warn_errno("refusing %s", addr);
            close(fd);
            continue;
        }
        memcpy(c->addr, addr, sizeof c->addr);
        c->nick[0] = '\0';
        c->left = c->dead = c->cutting = 0;
        c->in_len = 0;
        c->out_start = c->out_end = 0;
        clients[fd] = c;
        log_line("%s connected\n", addr);
        announce(fd, "joined");
    }
}

/* One read() per turn, so that a fast client cannot starve the others. */
static void read_client(int fd)
{
    struct client *c = clients[fd];
    ssize_t n;

    do
        n = read(fd, c->in + c->in_len, MAX_LINE - c->in_len);
    while (n == -1 && errno == EINTR);
    if (n == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        warn_errno("read %s", c->addr);        /* ECONNRESET: a reset */
        c->dead = 1;
        return;
    }
    if (n == 0) {
        /* It has said all it will: its last words, then goodbye. Messages
         * already queued for it still go out before we close. */
        if (c->in_len > 0 && !c->cutting)
            handle_line(fd, c->in, c->in_len);
        if (!c->left && !c->dead) {     /* its last words may be "/quit" */
            leave(fd);
            flush_client(fd);
        }
        return;
    }
    c->in_len += (size_t)n;
    take_lines(fd);
}

/*
 * pselect() delivers a pending stop signal only when it has to wait. When
 * descriptors are ready at once, it returns them and blocks the signal again
 * undelivered, and under steady traffic that is every turn: so every turn
 * the loop also asks whether a stop signal is waiting.
 */
static int stop_signal_pending(void)
{
    sigset_t pending;

    return sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

int main(int argc, char *argv[])
{
    const char *port, *host;
    char addr[ADDR_STRLEN];
    sigset_t stop_signals, wait_mask;
    long long accept_paused_until = 0;
    int listen_fd, status = 0;

    set_progname(argv[0]);
    server_args(argc, argv, usage, &port, &host);
    catch_stop_signals();

    /* As in server.c: stop signals get through only inside pselect(). */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &stop_signals, &wait_mask) == -1)
        die_errno("sigprocmask");
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGTERM);

    listen_fd = tcp_listen(host, port, SOMAXCONN);
    if (listen_fd == -1)
        return 1;
    if (set_nonblocking(listen_fd) == -1) {
        warn_errno("fcntl O_NONBLOCK");
        close(listen_fd);
        return 1;
    }
    log_line("listening on %s\n", local_addr(listen_fd, addr));

    while (!stop_requested && !stop_signal_pending()) {
        fd_set readable, writable;
        int max_fd = listen_fd;
        long long pause_ms = accept_paused_until - now_ms();
        struct timespec pause_left = {(time_t)(pause_ms / 1000),
                                      (long)(pause_ms % 1000 * 1000000)};

        FD_ZERO(&readable);
        FD_ZERO(&writable);
        if (pause_ms <= 0)
            watch(listen_fd, &readable);
        for (int fd = 0; fd < FD_SETSIZE; fd++) {
            if (clients[fd] == NULL)
                continue;
            if (!clients[fd]->left)
                watch(fd, &readable);
            if (clients[fd]->out_start < clients[fd]->out_end)
                watch(fd, &writable);
            if (fd > max_fd)
                max_fd = fd;
        }

        if (pselect(max_fd + 1, &readable, &writable, NULL,
                    pause_ms > 0 ? &pause_left : NULL, &wait_mask) == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("pselect");
            status = 1;
            break;
        }

        if (is_ready(listen_fd, &readable) && accept_waiting(listen_fd) == -1)
            accept_paused_until = now_ms() + ACCEPT_PAUSE_MS;
        for (int fd = 0; fd <= max_fd; fd++) {
            if (clients[fd] == NULL || clients[fd]->dead)
                continue;
            if (is_ready(fd, &readable))
                read_client(fd);
            if (!clients[fd]->dead && is_ready(fd, &writable))
                flush_client(fd);
        }
        reap_clients();
    }

    for (int fd = 0; fd < FD_SETSIZE; fd++) {
        if (clients[fd] != NULL) {
            log_line("%s disconnected\n", clients[fd]->addr);
            free(clients[fd]);
            close(fd);
        }
    }
    close(listen_fd);
    if (log_dropped > 0)
        warn_msg("%lu log lines dropped: stdout was not read", log_dropped);
    return status;
}

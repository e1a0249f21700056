/*
 * net.h - ports, addresses, tcp_listen() and tcp_connect() (net.c).
 * net.c needs errors.c (for its messages and the program's name).
 */
#ifndef SOCKLAB_NET_H
#define SOCKLAB_NET_H

#include <sys/socket.h>

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

#endif

/*
 * accept.h - accept_client() (accept.c): accept() for a server that holds
 * many connections and may run out of descriptors. accept.c needs errors.c
 * for its log line.
 */
#ifndef SOCKLAB_ACCEPT_H
#define SOCKLAB_ACCEPT_H

#include <sys/socket.h>

/*
 * How long an event loop stops watching its listener after accept_client()
 * returned EMFILE on a non-blocking socket (a blocking one waits this long
 * inside accept_client()). Clients wait in the queue meanwhile.
 */
#define ACCEPT_PAUSE_MS 100

/*
 * accept() for a server that holds many connections. On success: the new
 * descriptor, and the client's address in *peer.
 *
 * Out of descriptors (EMFILE, or ENFILE for the whole system) it waits for
 * a client as accept() would, refuses it with a clean close (using a
 * descriptor it keeps in reserve) and returns -1 with errno EMFILE: the
 * caller just goes on. When not even the reserve can be had, nobody can be
 * refused: on a blocking listener it first waits ACCEPT_PAUSE_MS (a stop
 * signal cuts the wait short: EINTR), on a non-blocking one it returns
 * EMFILE at once and the caller pauses. Either way the caller never spins.
 * Its log line comes at most once a second, with a count of those held
 * back; the next client accepted logs the count of the rest.
 *
 * Any other failure: -1 with errno from accept() or the wait (EINTR,
 * ECONNABORTED, EAGAIN on a non-blocking socket, ...). Call it from one
 * thread only: the reserve and the log's clock are not shared safely.
 */
int accept_client(int listen_fd, struct sockaddr_storage *peer, socklen_t *peer_len);

#endif

/*
 * Lesson 10 lookup: every address getaddrinfo() gives for a name and a
 * service, in the order it gives them, and the way back with getnameinfo().
 *
 *     usage: lookup [-p] [-n] [-a] [-r] [-t] [-4 | -6] HOST|- [SERVICE]
 *
 *   -p  AI_PASSIVE: addresses to bind (with HOST "-", the wildcards)
 *   -n  AI_NUMERICHOST: a literal only, never ask DNS or /etc/hosts
 *   -a  AI_ADDRCONFIG: only families this host has a non-loopback address of
 *   -r  reverse: ask getnameinfo() for each address's name
 *   -t  SOCK_STREAM only (without it, each address comes once per type)
 *   -4, -6  one family only (ai_family AF_INET, AF_INET6)
 *
 * HOST "-" passes NULL: no host at all, which is how a server asks for the
 * wildcard (with -p) and a client for loopback (without). One line per
 * result: family, socket type, protocol, address; the canonical name after
 * the first. The order is the resolver's (RFC 6724, /etc/gai.conf), and a
 * client must try them all, in that order, until one connects.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "[-p] [-n] [-a] [-r] [-t] [-4 | -6] HOST|- [SERVICE]";

static const char *family_name(int family)
{
    switch (family) {
    case AF_INET:  return "AF_INET";
    case AF_INET6: return "AF_INET6";
    default:       return "AF_?";
    }
}

static const char *type_name(int type)
{
    switch (type) {
    case SOCK_STREAM:    return "SOCK_STREAM";
    case SOCK_DGRAM:     return "SOCK_DGRAM";
    case SOCK_RAW:       return "SOCK_RAW";
    case SOCK_SEQPACKET: return "SOCK_SEQPACKET";
    default:             return "SOCK_?";
    }
}

/* The protocol's name from /etc/protocols ("tcp", "udp"), or its number. */
static const char *protocol_name(int proto, char buf[16])
{
    switch (proto) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case 0:           return "0";
    }
    snprintf(buf, 16, "%d", proto);
    return buf;
}

/* The gai_strerror() text, or strerror()'s for EAI_SYSTEM, which means errno. */
static const char *gai_text(int rc)
{
    return rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc);
}

int main(int argc, char *argv[])
{
    struct addrinfo hints, *list;
    const char *host, *service;
    int opt, rc, reverse = 0, status = 0;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = AI_CANONNAME;
    opterr = 0;                 /* the message is usage_error()'s */
    while ((opt = getopt(argc, argv, "pnart46")) != -1) {
        switch (opt) {
        case 'p': hints.ai_flags |= AI_PASSIVE; break;
        case 'n': hints.ai_flags |= AI_NUMERICHOST; break;
        case 'a': hints.ai_flags |= AI_ADDRCONFIG; break;
        case 'r': reverse = 1; break;
        case 't': hints.ai_socktype = SOCK_STREAM; break;
        case '4': hints.ai_family = AF_INET; break;
        case '6': hints.ai_family = AF_INET6; break;
        default:  usage_error(usage, "unknown option '-%c'", optopt);
        }
    }
    if (argc - optind < 1 || argc - optind > 2)
        usage_error(usage, argc - optind < 1 ? "missing host" : "too many arguments");
    host = strcmp(argv[optind], "-") == 0 ? NULL : argv[optind];
    service = argc - optind == 2 ? argv[optind + 1] : NULL;
    if (host == NULL && service == NULL)
        usage_error(usage, "no host (-) needs a service");
    /* Without AI_CANONNAME getaddrinfo() refuses NULL host: drop it then. */
    if (host == NULL)
        hints.ai_flags &= ~AI_CANONNAME;

    rc = getaddrinfo(host, service, &hints, &list);
    if (rc != 0) {
        warn_msg("getaddrinfo %s%s%s: %s", host ? host : "(none)",
                 service ? " " : "", service ? service : "", gai_text(rc));
        return 1;
    }
    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        char addr[ADDR_STRLEN], proto[16];

        printf("%-8s %-14s %-3s %s", family_name(ai->ai_family), type_name(ai->ai_socktype),
               protocol_name(ai->ai_protocol, proto), format_addr(ai->ai_addr, ai->ai_addrlen, addr));
        if (ai == list && ai->ai_canonname != NULL)
            printf("  canonical name %s", ai->ai_canonname);
        if (reverse) {
            char name[1025];          /* NI_MAXHOST, which POSIX does not name */
            /* NI_NAMEREQD: an error rather than the number again. */
            int r = getnameinfo(ai->ai_addr, ai->ai_addrlen, name, sizeof name, NULL, 0,
                                NI_NAMEREQD);

            if (r == 0) {
                printf("  name %s", name);
            } else {
                printf("  no name: %s", gai_text(r));
                status = 1;
            }
        }
        putchar('\n');
    }
    freeaddrinfo(list);
    return status;
}

/*
 * Lesson 10 bytes: what htons(), htonl(), inet_pton() and inet_ntop() do to
 * the bytes in memory, and where the old calls go wrong.
 *
 *     usage: bytes [ADDRESS...]
 *
 * With no ADDRESS it shows the port 9000, the address 127.0.0.1 and the
 * classic pitfalls; with some, it converts each (IPv4 or IPv6) to the bytes
 * a sockaddr holds and back to text.
 *
 * inet_addr(), inet_aton() and inet_ntoa() are called here only to show why
 * the other lessons do not: inet_addr() returns the same value for
 * "255.255.255.255" as for an error; inet_aton() takes "127.1" and "0x7f.1"
 * (old BSD shorthands nobody means); inet_ntoa() returns a static buffer, so
 * two calls in one printf() print the same address twice, and two threads
 * overwrite each other's. inet_pton() and inet_ntop() have none of that and
 * know IPv6.
 */
#define _DEFAULT_SOURCE         /* inet_aton(), which POSIX never adopted */

#include "socklab.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char usage[] = "[ADDRESS...]";

/* The bytes of an object, in the order they sit in memory. */
static void show_bytes(const char *label, const void *p, size_t len)
{
    const unsigned char *b = p;

    printf("%-28s", label);
    for (size_t i = 0; i < len; i++)
        printf(" %02x", b[i]);
    putchar('\n');
}

/* One address: text to network bytes (inet_pton) and back (inet_ntop). */
static int convert(const char *text)
{
    unsigned char bytes[sizeof(struct in6_addr)];
    char back[INET6_ADDRSTRLEN];
    int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
    size_t len = family == AF_INET6 ? 16 : 4;
    int rc = inet_pton(family, text, bytes);

    if (rc != 1) {
        /* 0: not an address of that family; -1 would be a bad family. */
        printf("%s: not an %s address (inet_pton returned %d)\n", text,
               family == AF_INET6 ? "IPv6" : "IPv4", rc);
        return 1;
    }
    show_bytes(text, bytes, len);
    if (inet_ntop(family, bytes, back, sizeof back) == NULL) {
        warn_errno("inet_ntop %s", text);
        return 1;
    }
    printf("%-28s %s\n", "  inet_ntop gives back", back);
    return 0;
}

static void demo(void)
{
    uint16_t port = 9000;
    uint32_t loopback = INADDR_LOOPBACK;        /* 0x7f000001, host order */
    uint16_t nport = htons(port);
    uint32_t naddr = htonl(loopback);
    struct in_addr a, b;
    const char *ntoa_a, *ntoa_b;

    puts("== byte order (this machine's first, then the network's)");
    show_bytes("9000 as a uint16_t", &port, sizeof port);
    show_bytes("htons(9000)", &nport, sizeof nport);
    show_bytes("INADDR_LOOPBACK", &loopback, sizeof loopback);
    show_bytes("htonl(INADDR_LOOPBACK)", &naddr, sizeof naddr);
    printf("%-28s %u\n", "ntohs(htons(9000))", (unsigned)ntohs(nport));
    printf("%-28s %s\n", "this machine is", port == ntohs(nport) && nport != port
           ? "little-endian: htons swaps" : "big-endian: htons does nothing");

    puts("== text and bytes: inet_pton, inet_ntop");
    convert("127.0.0.1");
    convert("::1");
    convert("::ffff:127.0.0.1");

    puts("== why not inet_addr, inet_aton, inet_ntoa");
    printf("%-28s 0x%08x\n", "inet_addr(\"255.255.255.255\")",
           (unsigned)inet_addr("255.255.255.255"));
    printf("%-28s 0x%08x  (INADDR_NONE: the same)\n", "inet_addr(\"bogus\")",
           (unsigned)inet_addr("bogus"));
    if (inet_aton("127.1", &a) == 1)
        printf("%-28s %s\n", "inet_aton(\"127.1\")", inet_ntoa(a));
    printf("%-28s %d\n", "inet_pton(AF_INET, \"127.1\")",
           inet_pton(AF_INET, "127.1", &b));
    a.s_addr = htonl(INADDR_LOOPBACK);
    b.s_addr = htonl(INADDR_BROADCAST);
    /*
     * Both calls return the same static buffer: the second overwrites what
     * the first wrote. (Called in turn, not as two arguments of one printf,
     * whose order of evaluation C leaves open.)
     */
    ntoa_a = inet_ntoa(a);
    ntoa_b = inet_ntoa(b);
    printf("%-28s %s %s  (a is 127.0.0.1, b 255.255.255.255)\n", "inet_ntoa(a), inet_ntoa(b)",
           ntoa_a, ntoa_b);
}

int main(int argc, char *argv[])
{
    int status = 0;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage(usage);
        return 0;
    }
    if (argc == 1)
        demo();
    for (int i = 1; i < argc; i++)
        status |= convert(argv[i]);
    return status;
}

/*
 * Lesson 09 structs: why a C struct is not a wire format.
 *
 *     usage: structs
 *
 * The same record, as its struct's bytes in memory (what write(fd, &rec,
 * sizeof rec) would send) and as a format written field by field in
 * network byte order. The struct's bytes hold padding that nobody set,
 * integers in this CPU's byte order, and a long whose size depends on the
 * system: another compiler, CPU or ABI reads them differently. No network:
 * the point is in the bytes.
 */
#define _POSIX_C_SOURCE 200809L

#include "socklab.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct record {
    char kind;          /* then 3 bytes of padding, so that id is aligned */
    uint32_t id;
    uint16_t port;      /* then padding again before the long */
    long count;         /* 4 bytes on 32-bit systems and 64-bit Windows, 8 here */
};

static void dump(const char *title, const unsigned char *p, size_t n)
{
    printf("%s (%zu bytes):\n ", title, n);
    for (size_t i = 0; i < n; i++)
        printf(" %02x", p[i]);
    printf("\n");
}

/* The format this program defines: 1 + 4 + 2 + 8 bytes, big-endian. */
static size_t encode(const struct record *r, unsigned char out[15])
{
    uint64_t count = (uint64_t)r->count;

    out[0] = (unsigned char)r->kind;
    for (int i = 0; i < 4; i++)
        out[1 + i] = (unsigned char)(r->id >> (24 - 8 * i));
    out[5] = (unsigned char)(r->port >> 8);
    out[6] = (unsigned char)r->port;
    for (int i = 0; i < 8; i++)
        out[7 + i] = (unsigned char)(count >> (56 - 8 * i));
    return 15;
}

int main(int argc, char *argv[])
{
    struct record rec;
    unsigned char wire[15];
    const uint16_t one = 1;

    set_progname(argv[0]);
    if (wants_help(argc, argv)) {
        print_usage("");
        return 0;
    }
    if (argc != 1)
        usage_error("", "no arguments expected");

    /* 0xEE in every byte first, so that the padding shows as ee. */
    memset(&rec, 0xEE, sizeof rec);
    rec.kind = 'A';
    rec.id = 0x01020304;
    rec.port = 9000;
    rec.count = 5;

    printf("this system: %s-endian, sizeof(long) = %zu\n",
           *(const unsigned char *)&one == 1 ? "little" : "big", sizeof(long));
    printf("struct record: kind at %zu, id at %zu, port at %zu, count at %zu\n",
           offsetof(struct record, kind), offsetof(struct record, id),
           offsetof(struct record, port), offsetof(struct record, count));
    dump("the struct's bytes", (const unsigned char *)&rec, sizeof rec);
    dump("field by field, big-endian", wire, encode(&rec, wire));
    return 0;
}

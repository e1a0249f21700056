/*
 * xfer.h - the file transfer's header, shared by lesson 09's send and
 * receive (and the fuzz target in tests/fuzz/). Header-only (static
 * inline): every .c file in a lesson directory is a program of its own.
 *
 * An upload is a header, then exactly `size` bytes of the file; then the
 * sender shuts down its side (end of file), and the receiver answers with
 * one line, "OK SIZE" or "ERR reason". The header:
 *
 *     offset  bytes  field
 *          0      4  "SLF1": what this is, and the format's version
 *          4      2  length of the name, big-endian, 1 to 255
 *          6      8  size of the file in bytes, big-endian
 *         14      N  the name: one file name, no directory in it
 *
 * Fixed fields first: the receiver reads 14 bytes, then knows how many
 * more to read, and never guesses.
 */
#ifndef XFER_H
#define XFER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define XFER_FIXED 14
#define XFER_NAME_MAX 255
#define XFER_HEADER_MAX (XFER_FIXED + XFER_NAME_MAX)

struct xfer_header {
    char name[XFER_NAME_MAX + 1];   /* NUL-terminated once parsed */
    size_t name_len;
    uint64_t size;
};

/* 8 bytes, most significant first: there is no htonll() in POSIX. */
static inline void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static inline uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/*
 * Why a name cannot be stored in the receiver's directory, or NULL if it
 * can. One plain name only: a '/' anywhere could climb out ("../x") or
 * start from the root ("/etc/x"), a NUL would cut the name short where the
 * system reads it, a leading dot is "." or "..", a hidden file, or one of
 * the receiver's own temporary files, and control characters would garble
 * the log and the reply line.
 */
static inline const char *xfer_name_problem(const char *name, size_t len)
{
    if (len == 0)
        return "empty name";
    if (len > XFER_NAME_MAX)
        return "name longer than 255 bytes";
    if (memchr(name, '\0', len) != NULL)
        return "NUL byte in the name";
    if (memchr(name, '/', len) != NULL)
        return "'/' in the name (only a plain file name is accepted)";
    if (name[0] == '.')
        return "name starts with '.'";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return "control character in the name";
    return NULL;
}

/*
 * Parses a header from the first len bytes of buf. Returns its length in
 * bytes (the file's bytes follow it), 0 if more bytes are needed, or -1
 * with *why saying what is wrong: nothing in a hostile header is trusted
 * before it is checked.
 */
static inline long xfer_parse(const unsigned char *buf, size_t len, struct xfer_header *h,
                              const char **why)
{
    size_t name_len;

    if (len < 4)
        return 0;
    if (memcmp(buf, "SLF1", 4) != 0) {
        *why = "not an upload (the header must start with SLF1)";
        return -1;
    }
    if (len < XFER_FIXED)
        return 0;
    name_len = (size_t)buf[4] << 8 | buf[5];
    h->size = get_be64(buf + 6);
    if (name_len == 0 || name_len > XFER_NAME_MAX) {
        *why = name_len == 0 ? "empty name" : "name longer than 255 bytes";
        return -1;
    }
    /* The largest size an off_t (signed, 64 bits) can hold. */
    if (h->size > INT64_MAX) {
        *why = "size too large";
        return -1;
    }
    if (len < XFER_FIXED + name_len)
        return 0;
    memcpy(h->name, buf + XFER_FIXED, name_len);
    h->name[name_len] = '\0';
    h->name_len = name_len;
    *why = xfer_name_problem(h->name, name_len);
    return *why != NULL ? -1 : (long)(XFER_FIXED + name_len);
}

/* Writes a header into out; returns its length. name_len must be 1..255. */
static inline size_t xfer_encode(const char *name, size_t name_len, uint64_t size,
                                 unsigned char out[XFER_HEADER_MAX])
{
    memcpy(out, "SLF1", 4);
    out[4] = (unsigned char)(name_len >> 8);
    out[5] = (unsigned char)name_len;
    put_be64(out + 6, size);
    memcpy(out + XFER_FIXED, name, name_len);
    return XFER_FIXED + name_len;
}

#endif

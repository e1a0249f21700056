/*
 * Fuzz target for the file transfer's header (lesson 09's xfer.h): make
 * fuzz. Whatever the bytes, a header that parses must name one plain file
 * (no '/', no NUL, no leading dot, 1 to 255 bytes) with a size an off_t can
 * hold, every shorter prefix of it must ask for more bytes rather than
 * parse differently, and encoding the result must give back the same bytes.
 */
#define _POSIX_C_SOURCE 200809L

#include "xfer.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xfer_header h, prefix;
    unsigned char again[XFER_HEADER_MAX];
    const char *why = NULL;
    long n = xfer_parse(data, size, &h, &why);

    if (n == -1) {
        if (why == NULL)
            abort();
        return 0;
    }
    if (n == 0) {
        if (size >= XFER_HEADER_MAX)    /* a whole header was there */
            abort();
        return 0;
    }
    if ((size_t)n > size || (size_t)n != XFER_FIXED + h.name_len || h.name_len == 0 ||
        h.name_len > XFER_NAME_MAX || h.size > INT64_MAX || h.name[0] == '.' ||
        memchr(h.name, '/', h.name_len) != NULL || strlen(h.name) != h.name_len)
        abort();
    for (size_t k = 0; k < (size_t)n; k++)
        if (xfer_parse(data, k, &prefix, &why) != 0)
            abort();
    if (xfer_encode(h.name, h.name_len, h.size, again) != (size_t)n ||
        memcmp(again, data, (size_t)n) != 0)
        abort();
    return 0;
}

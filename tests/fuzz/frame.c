/*
 * Fuzz target for lesson 09's length-prefixed frames (frame.h): make fuzz.
 *
 * The first byte picks the maximum payload (0 to 255 bytes), the rest is
 * the stream, read back through a pipe. Each frame returned must be the
 * bytes that follow its header; a length over the maximum must be refused
 * (EMSGSIZE) before anything is read or allocated for it; a frame cut short
 * must be EPROTO with the count of bytes that did arrive.
 */
#define _POSIX_C_SOURCE 200809L

#include "frame.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t max;
    size_t pos = 0;
    int p[2];

    if (size < 1 || size > 60000)
        return 0;
    max = data[0];
    data++;
    size--;
    if (pipe(p) == -1)
        abort();
    if (size > 0 && write(p[1], data, size) != (ssize_t)size)
        abort();
    close(p[1]);
    for (;;) {
        char *payload;
        uint32_t len, claimed = 0;
        size_t got;
        int r = frame_read(p[0], &payload, &len, max, &got, NULL);

        if (r == 0) {
            if (pos != size || got != 0)
                abort();
            break;
        }
        if (size - pos >= 4)
            claimed = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 |
                      (uint32_t)data[pos + 2] << 8 | data[pos + 3];
        if (r == -1) {
            if (errno == EMSGSIZE) {
                if (size - pos < 4 || claimed <= max || len != claimed || got != 4)
                    abort();
            } else if (errno == EPROTO) {
                if (got != size - pos || (size - pos >= 4 && claimed <= size - pos - 4))
                    abort();
            } else {
                abort();
            }
            if (payload != NULL)
                abort();
            break;
        }
        if (size - pos < 4 || len != claimed || len > max || got != 4 + (size_t)len ||
            memcmp(payload, data + pos + 4, len) != 0 || payload[len] != '\0')
            abort();
        free(payload);
        pos += 4 + len;
    }
    close(p[0]);
    return 0;
}

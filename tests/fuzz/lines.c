/*
 * Fuzz target for common/lines.c's line_read(): make fuzz.
 *
 * The first byte picks the maximum line length (1 to 64), the rest is the
 * stream, read back through a pipe. Whatever the bytes, every line must be
 * at most the maximum, hold no newline, and the lines with their newlines
 * must give back the input up to where the reader stopped; a line too long
 * must end the stream with EMSGSIZE. A broken promise aborts, which
 * libFuzzer reports as a crash.
 */
#define _POSIX_C_SOURCE 200809L

#include "lines.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct line_reader lr;
    size_t max, pos = 0;
    int p[2];

    /* A pipe holds 64 KiB: larger inputs would block the write. */
    if (size < 1 || size > 60000)
        return 0;
    max = (size_t)(data[0] % 64) + 1;
    data++;
    size--;
    if (pipe(p) == -1)
        abort();
    if (size > 0 && write(p[1], data, size) != (ssize_t)size)
        abort();
    close(p[1]);
    if (line_reader_init(&lr, p[0], max) == -1)
        abort();
    for (;;) {
        char *line;
        size_t len;
        int r = line_read(&lr, &line, &len, NULL);

        if (r == 0) {
            if (pos != size)            /* end of file only once all is read */
                abort();
            break;
        }
        if (r == -1) {
            /* Only a too-long line may stop it: there is no newline within
             * max bytes of where it stopped. */
            if (errno != EMSGSIZE || size - pos <= max ||
                memchr(data + pos, '\n', max + 1) != NULL)
                abort();
            if (line_read(&lr, &line, &len, NULL) != -1 || errno != EMSGSIZE)
                abort();
            break;
        }
        if (len > max || memchr(line, '\n', len) != NULL || line[len] != '\0' ||
            pos + len > size || memcmp(line, data + pos, len) != 0)
            abort();
        pos += len;
        if (pos < size) {
            if (data[pos] != '\n')
                abort();
            pos++;
        }
    }
    line_reader_free(&lr);
    close(p[0]);
    return 0;
}

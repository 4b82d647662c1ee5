/*
 * libFuzzer target: the gzip and zstd readers (indexer/source.c). The
 * first byte picks plain, gzip or zstd and the read size; the rest is the
 * file. Reads return bytes, 0 at the end or -1 with a reason, never more
 * than asked. Output is capped at 64 MiB (a bomb is the caller's problem, not a bug).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "source.h"

static int fd = -1;
static unsigned char buf[1 << 17];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    FILE *f = tmpfile();
    if (f == NULL)
        abort();
    fd = dup(fileno(f));
    fclose(f);
    return fd < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int kind = data[0] % 3;
    static const size_t caps[] = {1, 7, 4096, sizeof(buf)};
    size_t cap = caps[(data[0] >> 2) % 4];
    if (ftruncate(fd, 0) != 0 ||
        pwrite(fd, data + 1, size - 1, 0) != (ssize_t)(size - 1) ||
        lseek(fd, 0, SEEK_SET) != 0)
        abort();
    src *s = src_open(fd, kind);
    FUZZ_CHECK(s != NULL, "src_open");
    uint64_t total = 0;
    ssize_t n;
    const char *why = NULL;
    while ((n = src_read(s, buf, cap, &why)) > 0) {
        FUZZ_CHECK((size_t)n <= cap, "read %zd of %zu", n, cap);
        total += (uint64_t)n;
        if (total > (64u << 20) || (cap == 1 && total > (1u << 20)))
            break;
    }
    if (n < 0)
        FUZZ_CHECK(why != NULL && why[0] != '\0', "error without a reason");
    FUZZ_CHECK(src_consumed(s) <= size - 1, "consumed %llu of %zu",
               (unsigned long long)src_consumed(s), size - 1);
    src_close(s);
    return 0;
}

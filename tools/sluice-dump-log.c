/* sluice-dump-log: prints and verifies segment files offline.
 *
 *   sluice-dump-log [--deep] FILE...
 *
 * FILE is a .log (every batch: offsets, count, size, position, timestamps,
 * producer fields, codec, CRC ok/BAD), a .index or a .timeindex (every entry,
 * checked against the .log beside it when present). --deep also walks the
 * records of uncompressed batches. Exit status: 0 clean, 1 corruption found,
 * 2 usage or I/O error. */
#include <stdio.h>
#include <string.h>

#include "log/log.h"

int main(int argc, char **argv)
{
    bool deep = false;
    int status = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--deep") == 0) {
            deep = true;
            continue;
        }
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: %s [--deep] FILE...\n", argv[0]);
            return 0;
        }
        files++;
        int rc = sl_log_dump_file(argv[i], deep, stdout);
        if (rc < 0)
            status = 2;
        else if (rc > 0 && status == 0)
            status = 1;
    }
    if (files == 0) {
        fprintf(stderr, "usage: %s [--deep] FILE...\n", argv[0]);
        return 2;
    }
    return status;
}

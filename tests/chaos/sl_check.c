/* sl_check: the durability checker of the chaos tests.
 *
 *   sl_check [--idempotent] FILE...
 *
 * Each FILE holds workload history, final reads and/or committed-offset
 * events (format and checks: tests/support/chaos_check.h). Prints
 * "<check>: N passed, N failed" per check; exits 0 when nothing is violated,
 * 1 on any violation, 2 on unusable input. */
#include <stdio.h>
#include <string.h>

#include "chaos_check.h"

int main(int argc, char **argv)
{
    bool idempotent = false;
    int first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
        if (strcmp(argv[first], "--idempotent") == 0) {
            idempotent = true;
        } else {
            fprintf(stderr, "usage: sl_check [--idempotent] FILE...\n");
            return 2;
        }
    }
    if (first >= argc) {
        fprintf(stderr, "usage: sl_check [--idempotent] FILE...\n");
        return 2;
    }
    sl_chk *c = sl_chk_new(idempotent);
    int rc = 0;
    for (int i = first; i < argc && rc == 0; i++) {
        FILE *f = fopen(argv[i], "r");
        if (!f) {
            perror(argv[i]);
            rc = -1;
            break;
        }
        rc = sl_chk_load(c, f, argv[i]);
        fclose(f);
        if (rc != 0) fprintf(stderr, "sl_check: %s\n", sl_chk_error(c));
    }
    sl_chk_result r;
    if (rc == 0) rc = sl_chk_run(c, &r, stdout);
    sl_chk_free(c);
    if (rc != 0) return 2;
    return r.violations ? 1 : 0;
}

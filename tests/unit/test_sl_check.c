/* The chaos tests' durability checker (tests/support/chaos_check.c) on small
 * hand-made histories: a clean one, one per kind of violation, the
 * idempotence switch, timestamp ordering of committed offsets, and input it
 * must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos_check.h"

typedef struct run {
    sl_chk_result r;
    int load_rc, run_rc;
    char *report;
} run;

/* Loads each text as one file, runs the checks, keeps the report. */
static run check_texts(bool idempotent, const char *const *texts, int n)
{
    run out;
    memset(&out, 0, sizeof out);
    sl_chk *c = sl_chk_new(idempotent);
    for (int i = 0; i < n && out.load_rc == 0; i++) {
        FILE *f = fmemopen((void *)texts[i], strlen(texts[i]), "r");
        assert_non_null(f);
        out.load_rc = sl_chk_load(c, f, "mem");
        fclose(f);
    }
    if (out.load_rc == 0) {
        size_t len = 0;
        FILE *rep = open_memstream(&out.report, &len);
        assert_non_null(rep);
        out.run_rc = sl_chk_run(c, &out.r, rep);
        fclose(rep);
    }
    sl_chk_free(c);
    return out;
}

static run check1(bool idempotent, const char *text)
{
    const char *t[] = {text};
    return check_texts(idempotent, t, 1);
}

static run check2(bool idempotent, const char *hist, const char *read)
{
    const char *t[] = {hist, read};
    return check_texts(idempotent, t, 2);
}

static void done(run *r)
{
    free(r->report);
}

static void assert_only_failure(const run *x, int check, long n)
{
    for (int k = 0; k < SL_CHK__COUNT; k++) {
        if (k == check)
            assert_int_equal(x->r.failed[k], n);
        else
            assert_int_equal(x->r.failed[k], 0);
    }
}

static const char *HIST_OK = "# two producers, two partitions\n"
                             "invoke p0-0 0\n"
                             "invoke p0-1 1\n"
                             "invoke p1-0 0\n"
                             "ack p0-0 0 0\n"
                             "ack p1-0 0 1\n"
                             "ack p0-1 1 0\n"
                             "invoke p0-2 0\n"
                             "ack p0-2 0 2\n"
                             "invoke p1-1 1\n"
                             "unknown p1-1 1 possibly_persisted _MSG_TIMED_OUT\n"
                             "invoke p1-2 0\n"
                             "fail p1-2 0 not_persisted _QUEUE_FULL\n";

static const char *READ_OK = "read 0 0 p0-0\n"
                             "read 0 1 p1-0\n"
                             "read 0 2 p0-2\n"
                             "read 1 0 p0-1\n"
                             "read 1 1 p1-1\n"
                             "range 0 0 3\n"
                             "range 1 0 2\n";

static void test_clean_history(void **state)
{
    (void)state;
    run x = check2(true, HIST_OK, READ_OK);
    assert_int_equal(x.load_rc, 0);
    assert_int_equal(x.run_rc, 0);
    assert_int_equal(x.r.violations, 0);
    assert_only_failure(&x, -1, 0);
    assert_int_equal(x.r.invoked, 6);
    assert_int_equal(x.r.acked, 4);
    assert_int_equal(x.r.unknown, 1);
    assert_int_equal(x.r.failed_sends, 1);
    assert_int_equal(x.r.values_read, 5);
    assert_int_equal(x.r.offsets_read, 5);
    assert_int_equal(x.r.passed[SL_CHK_LOST], 4);
    assert_int_equal(x.r.passed[SL_CHK_PHANTOM], 5);
    assert_int_equal(x.r.passed[SL_CHK_GAPS], 5);
    assert_non_null(strstr(x.report, "lost: 4 passed, 0 failed\n"));
    assert_non_null(strstr(x.report, "sl_check: OK\n"));
    done(&x);
}

static void test_lost(void **state)
{
    (void)state;
    run x = check2(true, "invoke p0-0 0\nack p0-0 0 0\ninvoke p0-1 0\nack p0-1 0 1\n",
                   "read 0 0 p0-0\nrange 0 0 1\n");
    assert_int_equal(x.run_rc, 0);
    assert_only_failure(&x, SL_CHK_LOST, 1);
    assert_int_equal(x.r.violations, 1);
    assert_non_null(strstr(x.report, "lost: 1 passed, 1 failed\n"));
    assert_non_null(strstr(x.report, "p0-1 acknowledged at partition 0 offset 1"));
    assert_non_null(strstr(x.report, "FAILED (1 violations)"));
    done(&x);
}

static void test_duplicates_depend_on_idempotence(void **state)
{
    (void)state;
    const char *hist = "invoke p0-0 0\nack p0-0 0 0\ninvoke p0-1 0\nack p0-1 0 2\n";
    const char *read = "read 0 0 p0-0\nread 0 1 p0-0\nread 0 2 p0-1\nrange 0 0 3\n";
    run x = check2(true, hist, read);
    assert_only_failure(&x, SL_CHK_DUPLICATED, 1);
    assert_int_equal(x.r.violations, 1);
    done(&x);
    x = check2(false, hist, read);
    assert_only_failure(&x, SL_CHK_DUPLICATED, 1);
    assert_int_equal(x.r.violations, 0);
    assert_non_null(strstr(x.report, "(allowed: not idempotent)"));
    assert_non_null(strstr(x.report, "sl_check: OK\n"));
    done(&x);
}

static void test_offset_with_two_values(void **state)
{
    (void)state;
    /* Two reads of the log disagree about offset 1. */
    const char *t[] = {"invoke p0-0 0\ninvoke p0-1 0\ninvoke p1-0 0\n",
                       "read 0 0 p0-0\nread 0 1 p0-1\nrange 0 0 2\n",
                       "read 0 0 p0-0\nread 0 1 p1-0\nrange 0 0 2\n"};
    run x = check_texts(true, t, 3);
    assert_int_equal(x.run_rc, 0);
    assert_only_failure(&x, SL_CHK_INCONSISTENT, 1);
    assert_non_null(strstr(x.report, "partition 0 offset 1 read with two values"));
    done(&x);
}

static void test_ack_at_offset_holding_another_value(void **state)
{
    (void)state;
    run x = check2(true, "invoke p0-0 0\ninvoke p0-1 0\nack p0-0 0 1\nack p0-1 0 0\n",
                   "read 0 0 p0-0\nread 0 1 p0-1\nrange 0 0 2\n");
    assert_only_failure(&x, SL_CHK_INCONSISTENT, 2);
    assert_int_equal(x.r.passed[SL_CHK_LOST], 2);
    done(&x);
    /* Acknowledged for another partition than it was sent to. */
    x = check2(true, "invoke p0-0 0\nack p0-0 1 0\n", "read 0 0 p0-0\nrange 0 0 1\n");
    assert_int_equal(x.r.failed[SL_CHK_INCONSISTENT], 1);
    done(&x);
    /* Read in another partition than it was sent to. */
    x = check2(true, "invoke p0-0 0\n", "read 1 0 p0-0\nrange 1 0 1\n");
    assert_only_failure(&x, SL_CHK_INCONSISTENT, 1);
    done(&x);
    /* Acknowledged twice at different offsets. */
    x = check2(true, "invoke p0-0 0\nack p0-0 0 0\nack p0-0 0 3\n", "read 0 0 p0-0\nrange 0 0 1\n");
    assert_only_failure(&x, SL_CHK_INCONSISTENT, 1);
    done(&x);
}

static void test_reordered(void **state)
{
    (void)state;
    run x = check2(true, "invoke p3-0 0\ninvoke p3-1 0\ninvoke p3-2 0\ninvoke p4-0 0\n",
                   "read 0 0 p3-0\nread 0 1 p3-2\nread 0 2 p4-0\nread 0 3 p3-1\nrange 0 0 4\n");
    assert_only_failure(&x, SL_CHK_REORDERED, 1);
    assert_non_null(strstr(x.report, "p3-1 at partition 0 offset 3 comes after p3-2 at offset 1"));
    done(&x);
    /* A later copy of a value does not count as out of order (only the
     * first occurrence does); it is a duplicate. */
    x = check2(false, "invoke p3-0 0\ninvoke p3-1 0\n",
               "read 0 0 p3-0\nread 0 1 p3-1\nread 0 2 p3-0\nrange 0 0 3\n");
    assert_only_failure(&x, SL_CHK_DUPLICATED, 1);
    assert_int_equal(x.r.violations, 0);
    done(&x);
    /* Order is per partition. */
    x = check2(true, "invoke p3-0 1\ninvoke p3-1 0\n", "read 0 0 p3-1\nread 1 0 p3-0\n");
    assert_only_failure(&x, -1, 0);
    done(&x);
}

static void test_phantom(void **state)
{
    (void)state;
    run x = check2(true, "invoke p0-0 0\nack p0-0 0 0\n",
                   "read 0 0 p0-0\nread 0 1 p9-9\nread 0 2 hello\nrange 0 0 3\n");
    assert_only_failure(&x, SL_CHK_PHANTOM, 2);
    assert_non_null(strstr(x.report, "p9-9 read at partition 0 offset 1 was never sent"));
    assert_non_null(strstr(x.report, "'hello' at partition 0 offset 2 is not a workload value"));
    done(&x);
}

static void test_gaps(void **state)
{
    (void)state;
    run x = check2(true, "invoke p0-0 0\ninvoke p0-1 0\n",
                   "read 0 2 p0-0\nread 0 5 p0-1\nrange 0 2 7\n");
    assert_only_failure(&x, SL_CHK_GAPS, 3);
    assert_int_equal(x.r.passed[SL_CHK_GAPS], 2);
    assert_non_null(strstr(x.report, "partition 0 offsets 3..4 not read"));
    assert_non_null(strstr(x.report, "partition 0 offsets 6..6 not read"));
    done(&x);
}

static void test_committed_offsets(void **state)
{
    (void)state;
    /* Line order: the fetch after the acknowledged commit of 10 saw 7. */
    run x = check1(true, "commit g 0 5\nfetched g 0 5\ncommit g 0 10\nfetched g 0 7\n"
                         "fetched g 1 -1\ncommitfail g NOT_COORDINATOR\nfetched g 0 12\n");
    assert_int_equal(x.run_rc, 0);
    assert_only_failure(&x, SL_CHK_COMMITTED, 1);
    assert_int_equal(x.r.passed[SL_CHK_COMMITTED], 3);
    assert_int_equal(x.r.commits, 2);
    assert_int_equal(x.r.fetches, 4);
    assert_non_null(strstr(x.report, "read back as 7 after a commit of 10"));
    done(&x);
    /* "None" after an acknowledged commit goes backwards too. */
    x = check1(true, "commit g 2 3\nfetched g 2 -1\n");
    assert_only_failure(&x, SL_CHK_COMMITTED, 1);
    done(&x);
    /* The client moved back (a seek, an offset reset): its latest
     * acknowledged commit is what must be kept. */
    x = check1(true, "commit g 0 10\ncommit g 0 4\nfetched g 0 4\nfetched g 0 3\n");
    assert_only_failure(&x, SL_CHK_COMMITTED, 1);
    assert_int_equal(x.r.passed[SL_CHK_COMMITTED], 1);
    done(&x);
    /* Groups are separate. */
    x = check1(true, "commit a 0 9\nfetched b 0 1\n");
    assert_only_failure(&x, -1, 0);
    done(&x);
}

static void test_committed_offsets_by_timestamp(void **state)
{
    (void)state;
    /* Two files (consumer, probe) merged by time: the fetch sent at 1000
     * precedes the commit acknowledged at 1500, so seeing 5 is fine; the
     * fetch at 2000 must see at least 10; a commit acknowledged in the same
     * millisecond as a fetch was sent does not count for it. */
    const char *t[] = {"commit g 0 5 900\ncommit g 0 10 1500\ncommit g 0 20 3000\n",
                       "fetched g 0 5 1000\nfetched g 0 7 2000\nfetched g 0 10 3000\n"};
    run x = check_texts(true, t, 2);
    assert_only_failure(&x, SL_CHK_COMMITTED, 1);
    assert_int_equal(x.r.passed[SL_CHK_COMMITTED], 2);
    assert_non_null(strstr(x.report, "read back as 7 after a commit of 10"));
    done(&x);
}

static void test_failed_sends(void **state)
{
    (void)state;
    /* A definite failure that is in the log anyway is allowed (Kafka makes
     * no promise there) but reported; an unknown outcome may go either way. */
    run x = check2(true,
                   "invoke p0-0 0\nfail p0-0 0 not_persisted KAFKA_STORAGE_ERROR\n"
                   "invoke p0-1 0\nunknown p0-1 0 possibly_persisted _MSG_TIMED_OUT\n"
                   "invoke p0-2 0\nunknown p0-2 0 possibly_persisted _PURGE_INFLIGHT\n",
                   "read 0 0 p0-0\nread 0 1 p0-1\nrange 0 0 2\n");
    assert_int_equal(x.r.violations, 0);
    assert_int_equal(x.r.failed_present, 1);
    assert_int_equal(x.r.unknown, 2);
    assert_non_null(strstr(x.report, "1 sends that failed are in the log anyway"));
    done(&x);
    /* A later retry acknowledged wins over an earlier timeout. */
    x = check2(true, "invoke p0-0 0\nunknown p0-0 0 possibly_persisted X\nack p0-0 0 0\n",
               "range 0 0 0\n");
    assert_only_failure(&x, SL_CHK_LOST, 1);
    done(&x);
}

static void test_refuses_bad_input(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "ack p0-0 0 0\n",                 /* outcome of a value never invoked */
        "invoke p0-0 0\ninvoke p0-0 0\n", /* invoked twice */
        "invoke q0-0 0\n",                /* not p<producer>-<seq> */
        "invoke p0-x 0\n",                /* not p<producer>-<seq> */
        "invoke p0-0 -1\n",               /* negative partition */
        "invoke p0-0 0\nack p0-0 0 zz\n", /* bad offset */
        "read 0 0\n",                     /* too few fields */
        "range 0 5 3\n",                  /* high below low */
        "commit g 0 1 notatime\n",        /* bad timestamp */
        "explode 1 2 3\n",                /* unknown kind */
        "invoke p99999999-0 0\n",         /* producer id out of range */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sl_chk *c = sl_chk_new(true);
        FILE *f = fmemopen((void *)bad[i], strlen(bad[i]), "r");
        assert_non_null(f);
        int rc = sl_chk_load(c, f, "bad");
        fclose(f);
        if (rc != -1) fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(sl_chk_error(c), "bad:"));
        sl_chk_free(c);
    }
    /* Acknowledgements but no read at all: no verdict possible. */
    run x = check1(true, "invoke p0-0 0\nack p0-0 0 0\n");
    assert_int_equal(x.load_rc, 0);
    assert_int_equal(x.run_rc, -1);
    assert_non_null(strstr(x.report, "cannot decide"));
    done(&x);
}

static void test_larger_history(void **state)
{
    (void)state;
    /* Enough values to grow the table several times; one loss in the middle. */
    size_t cap = 1 << 20, hl = 0, rl = 0;
    char *hist = malloc(cap), *read = malloc(cap);
    assert_non_null(hist);
    assert_non_null(read);
    for (int i = 0; i < 5000; i++) {
        hl += (size_t)snprintf(hist + hl, cap - hl, "invoke p%d-%d %d\nack p%d-%d %d %d\n", i % 7,
                               i, i % 3, i % 7, i, i % 3, i / 3);
        if (i != 2500)
            rl += (size_t)snprintf(read + rl, cap - rl, "read %d %d p%d-%d\n", i % 3, i / 3, i % 7,
                                   i);
    }
    run x = check2(true, hist, read);
    assert_int_equal(x.run_rc, 0);
    assert_only_failure(&x, SL_CHK_LOST, 1);
    assert_int_equal(x.r.passed[SL_CHK_LOST], 4999);
    done(&x);
    free(hist);
    free(read);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_history),
        cmocka_unit_test(test_lost),
        cmocka_unit_test(test_duplicates_depend_on_idempotence),
        cmocka_unit_test(test_offset_with_two_values),
        cmocka_unit_test(test_ack_at_offset_holding_another_value),
        cmocka_unit_test(test_reordered),
        cmocka_unit_test(test_phantom),
        cmocka_unit_test(test_gaps),
        cmocka_unit_test(test_committed_offsets),
        cmocka_unit_test(test_committed_offsets_by_timestamp),
        cmocka_unit_test(test_failed_sends),
        cmocka_unit_test(test_refuses_bad_input),
        cmocka_unit_test(test_larger_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

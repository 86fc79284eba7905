/* Regression tests for storage bugs found by the chaos scenarios
 * (tests/chaos/): each case rebuilds, in-process, the on-disk state or the
 * sequence of events a fault scenario produced, and checks the fixed
 * behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "../unit/log_test_util.h"

/* Power cut between mkdir of a partition directory and the durable creation
 * of its first segment leaves an empty partition directory. Recovery listed
 * zero segments and passed NULL to qsort (UBSan: "null pointer passed as
 * argument 1"); it must instead start an empty log there. */
static void test_empty_partition_dir_recovers(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    assert_non_null(dir);
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/chaos-0", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    /* A stray index without its .log as well: removed, not a segment. */
    char idx[4200];
    snprintf(idx, sizeof idx, "%s/00000000000000000000.index", sub);
    int fd = open(idx, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    close(fd);

    uv_loop_t loop;
    uv_loop_init(&loop);
    sl_logdir *d = NULL;
    assert_int_equal(sl_logdir_open(&loop, dir, NULL, &d), 0);
    assert_false(sl_logdir_was_clean(d));
    sl_plog *l = sl_logdir_find(d, "chaos", 0);
    assert_non_null(l);
    assert_int_equal(sl_plog_log_start(l), 0);
    assert_int_equal(sl_plog_log_end(l), 0);
    assert_int_equal(tu_file_size(idx), -1);

    /* And it takes appends like any new log. */
    sl_buf b;
    sl_buf_init(&b);
    size_t len = tu_batch(&b, 3, 10, 1000, 1, 7);
    int64_t base = -1;
    assert_int_equal(sl_plog_append(l, b.data, len, 0, &base), 0);
    assert_int_equal(base, 0);
    assert_int_equal(sl_plog_flush_sync(l), 0);
    assert_int_equal(sl_plog_log_end(l), 3);
    sl_buf_fini(&b);

    assert_int_equal(sl_logdir_close(d), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    tu_rm_rf(dir);
    sl_free(dir);
}

int main(void)
{
    sl_log_set_level(SL_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_partition_dir_recovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

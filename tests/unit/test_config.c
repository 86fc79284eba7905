/* Unit tests for the broker/topic configuration table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/err.h"
#include "broker/config.h"

static void test_defaults_are_valid(void **state)
{
    (void)state;
    sl_config *c = sl_config_new();
    char err[256];
    /* every built-in default must pass its own validation */
    for (int i = 0; i < SL_BCFG__COUNT; i++) {
        const sl_cfg_def *d = sl_config_def((sl_bcfg)i);
        if (d->default_value[0])
            assert_int_equal(
                sl_config_set(c, d->name, d->default_value, SL_CFG_SRC_DEFAULT, err, sizeof err),
                0);
    }
    assert_int_equal(sl_config_finish(c, err, sizeof err), 0);
    assert_string_equal(sl_config_listen_host(c), "127.0.0.1");
    assert_int_equal(sl_config_listen_port(c), 9092);
    assert_string_equal(sl_config_advertised_host(c), "127.0.0.1");
    assert_int_equal(sl_config_int(c, SL_BCFG_NUM_PARTITIONS), 1);
    assert_true(sl_config_bool(c, SL_BCFG_AUTO_CREATE_TOPICS_ENABLE));
    sl_config_free(c);
}

static void test_properties_text(void **state)
{
    (void)state;
    sl_config *c = sl_config_new();
    char err[256];
    const char *text = "# comment\n! also comment\n\n  num.partitions = 3\n"
                       "listeners=PLAINTEXT://0.0.0.0:19092\n"
                       "advertised.listeners=PLAINTEXT://broker1:19092\n"
                       "log.retention.minutes: 5\n";
    assert_int_equal(sl_config_load_text(c, text, strlen(text), "t", err, sizeof err), 0);
    assert_int_equal(sl_config_finish(c, err, sizeof err), 0);
    assert_int_equal(sl_config_int(c, SL_BCFG_NUM_PARTITIONS), 3);
    assert_int_equal(sl_config_source(c, SL_BCFG_NUM_PARTITIONS), SL_CFG_SRC_STATIC_BROKER);
    assert_int_equal(sl_config_listen_port(c), 19092);
    assert_string_equal(sl_config_advertised_host(c), "broker1");
    sl_topic_config tc;
    sl_topic_config_resolve(c, NULL, 0, &tc);
    assert_int_equal(tc.retention_ms, 5 * 60000);
    sl_config_kv over[] = {{"retention.ms", "1000"}, {"cleanup.policy", "compact"}};
    sl_topic_config_resolve(c, over, 2, &tc);
    assert_int_equal(tc.retention_ms, 1000);
    assert_true(tc.compact);
    assert_false(tc.delete_retention);
    sl_config_free(c);
}

static void test_bad_settings(void **state)
{
    (void)state;
    sl_config *c = sl_config_new();
    char err[256];
    assert_int_equal(
        sl_config_set(c, "no.such.thing", "1", SL_CFG_SRC_STATIC_BROKER, err, sizeof err),
        SL_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "no.such.thing"));
    assert_int_equal(
        sl_config_set(c, "num.partitions", "abc", SL_CFG_SRC_STATIC_BROKER, err, sizeof err),
        SL_ERR_INVALID_CONFIG);
    assert_int_equal(
        sl_config_set(c, "num.partitions", "0", SL_CFG_SRC_STATIC_BROKER, err, sizeof err),
        SL_ERR_INVALID_CONFIG);
    assert_int_equal(sl_config_set(c, "auto.create.topics.enable", "yes", SL_CFG_SRC_STATIC_BROKER,
                                   err, sizeof err),
                     SL_ERR_INVALID_CONFIG);
    const char *bad = "num.partitions\n";
    assert_int_equal(sl_config_load_text(c, bad, strlen(bad), "f", err, sizeof err),
                     SL_ERR_INVALID_CONFIG);
    assert_non_null(strstr(err, "f:1"));
    assert_int_equal(
        sl_config_set(c, "listeners", "SSL://h:1", SL_CFG_SRC_STATIC_BROKER, err, sizeof err), 0);
    assert_int_equal(sl_config_finish(c, err, sizeof err), SL_ERR_INVALID_CONFIG);
    sl_config_free(c);
}

static void test_topic_validation(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(sl_topic_config_validate("retention.ms", "-1", err, sizeof err), 0);
    assert_int_equal(sl_topic_config_validate("retention.ms", "x", err, sizeof err),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(sl_topic_config_validate("segment.bytes", "10", err, sizeof err),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(sl_topic_config_validate("cleanup.policy", "compact,delete", err, sizeof err),
                     0);
    assert_int_equal(sl_topic_config_validate("cleanup.policy", "shred", err, sizeof err),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(sl_topic_config_validate("bogus", "1", err, sizeof err), SL_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_valid),
        cmocka_unit_test(test_properties_text),
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_topic_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

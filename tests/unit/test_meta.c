/* Unit tests for sl_meta: the metadata log on real libraft (libuv I/O in a
 * temporary directory) driven by a real uv loop. Proposals round-trip
 * through Raft; restart (close + reopen) and snapshot + tail replay restore
 * the exact image; identity mismatches are refused; listeners hear applied
 * changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/err.h"
#include "meta/meta.h"

typedef struct fixture {
    uv_loop_t loop;
    char dir[64];
    sl_meta *m;
    bool ready_done;
    int ready_status;
} fixture;

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    snprintf(f->dir, sizeof f->dir, "/tmp/sl-meta-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    assert_int_equal(uv_loop_close(&f->loop), 0); /* every handle closed */
    nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void run_until(fixture *f, const bool *flag)
{
    while (!*flag)
        uv_run(&f->loop, UV_RUN_ONCE);
}

static void on_ready(void *arg, int status)
{
    fixture *f = arg;
    assert_false(f->ready_done); /* exactly once */
    f->ready_done = true;
    f->ready_status = status;
}

static sl_meta_config base_config(fixture *f, int32_t node_id)
{
    sl_meta_config cfg = {0};
    cfg.log_dir = f->dir;
    cfg.node_id = node_id;
    cfg.advertised_host = "127.0.0.1";
    cfg.advertised_port = 9092;
    cfg.ready_cb = on_ready;
    cfg.ready_arg = f;
    return cfg;
}

static int open_cfg(fixture *f, const sl_meta_config *cfg)
{
    f->ready_done = false;
    f->ready_status = 1;
    int rc = sl_meta_open(&f->loop, cfg, &f->m);
    if (rc) return rc;
    run_until(f, &f->ready_done);
    return f->ready_status;
}

static void open_ok(fixture *f, int32_t node_id)
{
    sl_meta_config cfg = base_config(f, node_id);
    assert_int_equal(open_cfg(f, &cfg), 0);
    assert_true(sl_meta_is_ready(f->m));
}

static void on_closed(void *arg)
{
    *(bool *)arg = true;
}

static void close_meta(fixture *f)
{
    bool closed = false;
    sl_meta_close(f->m, on_closed, &closed);
    run_until(f, &closed);
    f->m = NULL;
    /* The loop has nothing left to do once the instance is gone. */
    assert_int_equal(uv_run(&f->loop, UV_RUN_NOWAIT), 0);
}

/* ---- proposal helpers ------------------------------------------------------ */

typedef struct result {
    bool done;
    int status;
    char topic[256];
    uint8_t id[16];
    int32_t partitions;
    int64_t first_id;
    int32_t count;
} result;

static void on_topic(void *arg, int status, const sl_meta_topic *t)
{
    result *r = arg;
    assert_false(r->done);
    r->done = true;
    r->status = status;
    if (t) {
        snprintf(r->topic, sizeof r->topic, "%s", sl_meta_topic_name(t));
        memcpy(r->id, sl_meta_topic_id(t), 16);
        r->partitions = sl_meta_topic_partition_count(t);
    } else {
        assert_int_not_equal(status, 0);
    }
}

static void on_done(void *arg, int status)
{
    result *r = arg;
    assert_false(r->done);
    r->done = true;
    r->status = status;
}

static void on_pids(void *arg, int status, int64_t first, int32_t count)
{
    result *r = arg;
    assert_false(r->done);
    r->done = true;
    r->status = status;
    r->first_id = first;
    r->count = count;
}

static int create_topic(fixture *f, const char *name, int32_t parts, const sl_config_kv *cfg,
                        size_t n)
{
    result r = {0};
    int rc = sl_meta_create_topic(f->m, name, parts, 1, cfg, n, on_topic, &r);
    if (rc) return rc;
    run_until(f, &r.done);
    if (r.status == 0) {
        assert_string_equal(r.topic, name);
        assert_int_equal(r.partitions, parts);
    }
    return r.status;
}

static int wait_plain(fixture *f, int rc, result *r)
{
    if (rc) return rc;
    run_until(f, &r->done);
    return r->status;
}

static int delete_topic(fixture *f, const char *name)
{
    result r = {0};
    return wait_plain(f, sl_meta_delete_topic(f->m, name, on_done, &r), &r);
}

static int create_partitions(fixture *f, const char *name, int32_t total)
{
    result r = {0};
    return wait_plain(f, sl_meta_create_partitions(f->m, name, total, on_done, &r), &r);
}

static int alter_topic(fixture *f, const char *name, const sl_config_kv *ops, size_t n,
                       bool replace)
{
    result r = {0};
    return wait_plain(f, sl_meta_alter_topic_config(f->m, name, ops, n, replace, on_done, &r), &r);
}

static int alter_broker(fixture *f, int32_t node, const sl_config_kv *ops, size_t n)
{
    result r = {0};
    return wait_plain(f, sl_meta_alter_broker_config(f->m, node, ops, n, false, on_done, &r), &r);
}

static int64_t alloc_pids(fixture *f, int32_t count)
{
    result r = {0};
    assert_int_equal(sl_meta_alloc_producer_ids(f->m, count, on_pids, &r), 0);
    run_until(f, &r.done);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.count, count);
    return r.first_id;
}

static const sl_meta_topic *topic(fixture *f, const char *name)
{
    return sl_meta_topic_by_name(sl_meta_get_image(f->m), name, strlen(name));
}

static void snapshot_image(fixture *f, sl_buf *out)
{
    sl_buf_reset(out);
    sl_meta_image_encode(sl_meta_get_image(f->m), out);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_fresh_open(void **state)
{
    fixture *f = *state;
    open_ok(f, 1);
    const sl_meta_image *img = sl_meta_get_image(f->m);
    assert_int_equal(strlen(sl_meta_cluster_id(f->m)), 22);
    assert_string_equal(sl_meta_image_cluster_id(img), sl_meta_cluster_id(f->m));
    assert_int_equal(sl_meta_node_id(f->m), 1);
    /* this broker registered itself */
    const sl_meta_broker *b = sl_meta_broker_by_id(img, 1);
    assert_non_null(b);
    assert_string_equal(sl_meta_broker_host(b), "127.0.0.1");
    assert_int_equal(sl_meta_broker_port(b), 9092);
    assert_int_equal(sl_meta_topic_count(img), 0);
    assert_true(sl_meta_image_offset(img) > 0);

    sl_meta_props p;
    assert_int_equal(sl_meta_props_read(f->dir, &p), 0);
    assert_int_equal(p.node_id, 1);
    assert_int_equal(p.version, 1);
    assert_string_equal(p.cluster_id, sl_meta_cluster_id(f->m));
    char path[128];
    snprintf(path, sizeof path, "%s/__meta/metadata1", f->dir);
    assert_int_equal(access(path, F_OK), 0);
    close_meta(f);
}

static void test_topic_round_trips(void **state)
{
    fixture *f = *state;
    open_ok(f, 0);
    const sl_config_kv cfg[] = {{"retention.ms", "60000"}, {"cleanup.policy", "delete"}};
    assert_int_equal(create_topic(f, "orders", 3, cfg, 2), 0);
    const sl_meta_topic *t = topic(f, "orders");
    assert_non_null(t);
    assert_false(sl_meta_uuid_is_zero(sl_meta_topic_id(t)));
    assert_ptr_equal(sl_meta_topic_by_id(sl_meta_get_image(f->m), sl_meta_topic_id(t)), t);
    for (int32_t p = 0; p < 3; p++) {
        const sl_meta_partition *pp = sl_meta_topic_partition(t, p);
        size_t n;
        const int32_t *rep = sl_meta_partition_replicas(pp, &n);
        assert_int_equal(n, 1);
        assert_int_equal(rep[0], 0);
        const int32_t *isr = sl_meta_partition_isr(pp, &n);
        assert_int_equal(n, 1);
        assert_int_equal(isr[0], 0);
        assert_int_equal(sl_meta_partition_leader(pp), 0);
        assert_int_equal(sl_meta_partition_leader_epoch(pp), 0);
    }
    assert_string_equal(sl_meta_topic_config(t, "retention.ms"), "60000");
    assert_int_equal(sl_meta_topic_config_count(t), 2);

    /* grow */
    assert_int_equal(create_partitions(f, "orders", 5), 0);
    t = topic(f, "orders");
    assert_int_equal(sl_meta_topic_partition_count(t), 5);
    assert_int_equal(sl_meta_partition_leader(sl_meta_topic_partition(t, 4)), 0);

    /* config: set + delete in one record, then replace */
    const sl_config_kv ops[] = {{"retention.ms", "1000"}, {"cleanup.policy", NULL}};
    assert_int_equal(alter_topic(f, "orders", ops, 2, false), 0);
    t = topic(f, "orders");
    assert_string_equal(sl_meta_topic_config(t, "retention.ms"), "1000");
    assert_null(sl_meta_topic_config(t, "cleanup.policy"));
    const sl_config_kv only[] = {{"segment.bytes", "1048576"}};
    assert_int_equal(alter_topic(f, "orders", only, 1, true), 0);
    t = topic(f, "orders");
    assert_int_equal(sl_meta_topic_config_count(t), 1);
    assert_string_equal(sl_meta_topic_config(t, "segment.bytes"), "1048576");

    /* broker configs, cluster-wide and per node */
    const sl_config_kv bops[] = {{"log.retention.ms", "5000"}};
    assert_int_equal(alter_broker(f, -1, bops, 1), 0);
    assert_int_equal(alter_broker(f, 0, bops, 1), 0);
    const sl_meta_image *img = sl_meta_get_image(f->m);
    assert_string_equal(sl_meta_broker_config(img, -1, "log.retention.ms"), "5000");
    assert_string_equal(sl_meta_broker_config(img, 0, "log.retention.ms"), "5000");
    const sl_config_kv bdel[] = {{"log.retention.ms", NULL}};
    assert_int_equal(alter_broker(f, 0, bdel, 1), 0);
    img = sl_meta_get_image(f->m);
    assert_null(sl_meta_broker_config(img, 0, "log.retention.ms"));
    assert_int_equal(sl_meta_broker_config_count(img, -1), 1);

    /* delete, then the name is free again with a new id */
    uint8_t old_id[16];
    memcpy(old_id, sl_meta_topic_id(topic(f, "orders")), 16);
    assert_int_equal(delete_topic(f, "orders"), 0);
    assert_null(topic(f, "orders"));
    assert_int_equal(delete_topic(f, "orders"), SL_ERR_NOT_FOUND);
    assert_int_equal(create_topic(f, "orders", 1, NULL, 0), 0);
    assert_memory_not_equal(sl_meta_topic_id(topic(f, "orders")), old_id, 16);
    /* deleting by the old id finds nothing */
    result r = {0};
    assert_int_equal(sl_meta_delete_topic_id(f->m, old_id, on_done, &r), SL_ERR_NOT_FOUND);
    close_meta(f);
}

static void test_validation_errors(void **state)
{
    fixture *f = *state;
    open_ok(f, 1);
    result r = {0};
    assert_int_equal(create_topic(f, "a.b", 1, NULL, 0), 0);
    /* synchronous refusals: the callback never runs */
    assert_int_equal(sl_meta_create_topic(f->m, "a.b", 1, 1, NULL, 0, on_topic, &r), SL_ERR_EXISTS);
    assert_int_equal(sl_meta_create_topic(f->m, "a_b", 1, 1, NULL, 0, on_topic, &r),
                     SL_ERR_INVALID_TOPIC);
    assert_int_equal(sl_meta_create_topic(f->m, "bad name", 1, 1, NULL, 0, on_topic, &r),
                     SL_ERR_INVALID_TOPIC);
    assert_int_equal(sl_meta_create_topic(f->m, "..", 1, 1, NULL, 0, on_topic, &r),
                     SL_ERR_INVALID_TOPIC);
    assert_int_equal(sl_meta_create_topic(f->m, "", 1, 1, NULL, 0, on_topic, &r),
                     SL_ERR_INVALID_TOPIC);
    assert_int_equal(sl_meta_create_topic(f->m, "t", 0, 1, NULL, 0, on_topic, &r),
                     SL_ERR_INVALID_PARTITIONS);
    assert_int_equal(sl_meta_create_topic(f->m, "t", -1, 1, NULL, 0, on_topic, &r),
                     SL_ERR_INVALID_PARTITIONS);
    assert_int_equal(
        sl_meta_create_topic(f->m, "t", SL_META_MAX_PARTITIONS + 1, 1, NULL, 0, on_topic, &r),
        SL_ERR_INVALID_PARTITIONS);
    assert_int_equal(sl_meta_create_topic(f->m, "t", 1, 2, NULL, 0, on_topic, &r),
                     SL_ERR_INVALID_REPLICATION_FACTOR);
    assert_int_equal(sl_meta_create_topic(f->m, "t", 1, 0, NULL, 0, on_topic, &r),
                     SL_ERR_INVALID_REPLICATION_FACTOR);
    const sl_config_kv nullval[] = {{"retention.ms", NULL}};
    assert_int_equal(sl_meta_create_topic(f->m, "t", 1, 1, nullval, 1, on_topic, &r),
                     SL_ERR_INVALID_CONFIG);
    const sl_config_kv twice[] = {{"retention.ms", "1"}, {"retention.ms", "2"}};
    assert_int_equal(sl_meta_create_topic(f->m, "t", 1, 1, twice, 2, on_topic, &r),
                     SL_ERR_INVALID_CONFIG);
    const sl_config_kv emptykey[] = {{"", "1"}};
    assert_int_equal(sl_meta_create_topic(f->m, "t", 1, 1, emptykey, 1, on_topic, &r),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(sl_meta_check_create_topic(f->m, "t", 1, 1, NULL, 0), 0);
    assert_int_equal(sl_meta_check_create_topic(f->m, "a.b", 1, 1, NULL, 0), SL_ERR_EXISTS);

    assert_int_equal(sl_meta_create_partitions(f->m, "a.b", 1, on_done, &r),
                     SL_ERR_INVALID_PARTITIONS);
    assert_int_equal(sl_meta_create_partitions(f->m, "a.b", 0, on_done, &r),
                     SL_ERR_INVALID_PARTITIONS);
    assert_int_equal(sl_meta_create_partitions(f->m, "nope", 3, on_done, &r), SL_ERR_NOT_FOUND);
    assert_int_equal(sl_meta_check_create_partitions(f->m, "a.b", 2), 0);
    assert_int_equal(sl_meta_alter_topic_config(f->m, "nope", twice, 1, false, on_done, &r),
                     SL_ERR_NOT_FOUND);
    assert_int_equal(sl_meta_alter_topic_config(f->m, "a.b", twice, 2, false, on_done, &r),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(sl_meta_check_alter_topic_config(f->m, "a.b", twice, 1, false), 0);
    assert_int_equal(sl_meta_alter_broker_config(f->m, -2, twice, 1, false, on_done, &r),
                     SL_ERR_INVALID_ARG);
    assert_int_equal(sl_meta_check_alter_broker_config(f->m, 7, twice, 1, false), 0);
    assert_int_equal(sl_meta_delete_topic(f->m, "nope", on_done, &r), SL_ERR_NOT_FOUND);
    assert_int_equal(sl_meta_alloc_producer_ids(f->m, 0, on_pids, &r), SL_ERR_INVALID_ARG);
    assert_false(r.done);

    /* Apply-time checks: two creates of one name proposed together pass the
     * proposal check; the second fails when applied. Same for partitions. */
    result r1 = {0}, r2 = {0};
    assert_int_equal(sl_meta_create_topic(f->m, "race", 1, 1, NULL, 0, on_topic, &r1), 0);
    assert_int_equal(sl_meta_create_topic(f->m, "race", 2, 1, NULL, 0, on_topic, &r2), 0);
    run_until(f, &r1.done);
    run_until(f, &r2.done);
    assert_int_equal(r1.status, 0);
    assert_int_equal(r2.status, SL_ERR_EXISTS);
    assert_int_equal(sl_meta_topic_partition_count(topic(f, "race")), 1);
    result r3 = {0}, r4 = {0};
    assert_int_equal(sl_meta_create_partitions(f->m, "race", 3, on_done, &r3), 0);
    assert_int_equal(sl_meta_create_partitions(f->m, "race", 2, on_done, &r4), 0);
    run_until(f, &r3.done);
    run_until(f, &r4.done);
    assert_int_equal(r3.status, 0);
    assert_int_equal(r4.status, SL_ERR_INVALID_PARTITIONS);
    assert_int_equal(sl_meta_topic_partition_count(topic(f, "race")), 3);
    sl_meta_stats st;
    sl_meta_get_stats(f->m, &st);
    assert_int_equal(st.records_rejected, 2);
    close_meta(f);
}

static void test_producer_ids(void **state)
{
    fixture *f = *state;
    open_ok(f, 1);
    assert_int_equal(alloc_pids(f, 1000), 0);
    assert_int_equal(alloc_pids(f, 1000), 1000);
    /* several at once are serialized into disjoint, contiguous blocks */
    result a = {0}, b = {0}, c = {0};
    assert_int_equal(sl_meta_alloc_producer_ids(f->m, 10, on_pids, &a), 0);
    assert_int_equal(sl_meta_alloc_producer_ids(f->m, 20, on_pids, &b), 0);
    assert_int_equal(sl_meta_alloc_producer_ids(f->m, 30, on_pids, &c), 0);
    run_until(f, &c.done);
    assert_true(a.done && b.done);
    assert_int_equal(a.first_id, 2000);
    assert_int_equal(b.first_id, 2010);
    assert_int_equal(c.first_id, 2030);
    assert_int_equal(sl_meta_image_next_producer_id(sl_meta_get_image(f->m)), 2060);
    close_meta(f);
    /* unique across restarts */
    open_ok(f, 1);
    assert_int_equal(alloc_pids(f, 5), 2060);
    close_meta(f);
}

static void test_restart_restores_image(void **state)
{
    fixture *f = *state;
    open_ok(f, 3);
    char cluster[64];
    snprintf(cluster, sizeof cluster, "%s", sl_meta_cluster_id(f->m));
    const sl_config_kv cfg[] = {{"max.message.bytes", "2097152"}};
    assert_int_equal(create_topic(f, "alpha", 2, cfg, 1), 0);
    assert_int_equal(create_topic(f, "beta", 1, NULL, 0), 0);
    assert_int_equal(create_topic(f, "gamma", 4, NULL, 0), 0);
    assert_int_equal(delete_topic(f, "beta"), 0);
    assert_int_equal(create_partitions(f, "gamma", 6), 0);
    const sl_config_kv bops[] = {{"num.partitions", "3"}};
    assert_int_equal(alter_broker(f, -1, bops, 1), 0);
    assert_int_equal(alloc_pids(f, 1000), 0);
    uint8_t alpha_id[16];
    memcpy(alpha_id, sl_meta_topic_id(topic(f, "alpha")), 16);
    sl_buf before, after;
    sl_buf_init(&before);
    sl_buf_init(&after);
    snapshot_image(f, &before);
    int64_t offset = sl_meta_image_offset(sl_meta_get_image(f->m));
    close_meta(f);

    open_ok(f, 3);
    snapshot_image(f, &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len); /* byte-identical image */
    assert_string_equal(sl_meta_cluster_id(f->m), cluster);
    assert_int_equal(sl_meta_image_offset(sl_meta_get_image(f->m)), offset);
    assert_memory_equal(sl_meta_topic_id(topic(f, "alpha")), alpha_id, 16);
    assert_string_equal(sl_meta_topic_config(topic(f, "alpha"), "max.message.bytes"), "2097152");
    assert_null(topic(f, "beta"));
    assert_int_equal(sl_meta_topic_partition_count(topic(f, "gamma")), 6);
    assert_int_equal(alloc_pids(f, 1), 1000);
    close_meta(f);

    /* A changed advertised address is re-registered at startup. */
    sl_meta_config c = base_config(f, 3);
    c.advertised_host = "10.0.0.3";
    c.advertised_port = 19092;
    c.rack = "r1";
    assert_int_equal(open_cfg(f, &c), 0);
    const sl_meta_broker *b = sl_meta_broker_by_id(sl_meta_get_image(f->m), 3);
    assert_string_equal(sl_meta_broker_host(b), "10.0.0.3");
    assert_int_equal(sl_meta_broker_port(b), 19092);
    assert_string_equal(sl_meta_broker_rack(b), "r1");
    assert_int_equal(sl_meta_broker_count(sl_meta_get_image(f->m)), 1);
    close_meta(f);
    sl_buf_fini(&before);
    sl_buf_fini(&after);
}

static size_t count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void test_snapshot_and_tail_replay(void **state)
{
    fixture *f = *state;
    open_ok(f, 1);
    /* 5,000 records: topics created, configured, some deleted. Many in
     * flight at once, as a busy controller would have. */
    char name[32];
    int inflight = 0;
    result *rs = calloc(5000, sizeof *rs);
    int n = 0;
    for (int i = 0; n < 5000; i++) {
        snprintf(name, sizeof name, "topic-%04d", i);
        assert_int_equal(
            sl_meta_create_topic(f->m, name, 1 + i % 3, 1, NULL, 0, on_topic, &rs[n++]), 0);
        inflight++;
        if (inflight == 50) {
            run_until(f, &rs[n - 1].done);
            inflight = 0;
        }
        if (n < 5000 && i % 4 == 3) {
            const sl_config_kv ops[] = {{"retention.ms", "12345"}};
            run_until(f, &rs[n - 1].done);
            assert_int_equal(
                sl_meta_alter_topic_config(f->m, name, ops, 1, false, on_done, &rs[n++]), 0);
        }
        if (n < 5000 && i % 10 == 9) {
            run_until(f, &rs[n - 1].done);
            assert_int_equal(sl_meta_delete_topic(f->m, name, on_done, &rs[n++]), 0);
        }
    }
    run_until(f, &rs[4999].done);
    for (int i = 0; i < 5000; i++) {
        assert_true(rs[i].done);
        assert_int_equal(rs[i].status, 0);
    }
    free(rs);
    sl_meta_stats st0;
    sl_meta_get_stats(f->m, &st0);
    assert_true(st0.snapshots_taken >= 4);
    assert_true(st0.records_applied >= 5000);
    assert_int_equal(st0.records_rejected, 0);
    size_t topics = sl_meta_topic_count(sl_meta_get_image(f->m));
    assert_true(topics > 3000);
    sl_buf before, after;
    sl_buf_init(&before);
    sl_buf_init(&after);
    snapshot_image(f, &before);
    close_meta(f);

    char raft_dir[128];
    snprintf(raft_dir, sizeof raft_dir, "%s/__meta", f->dir);
    /* libraft keeps the newest snapshots (data + .meta each) */
    assert_true(count_files(raft_dir, "snapshot-") >= 2);

    open_ok(f, 1);
    snapshot_image(f, &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    assert_int_equal(sl_meta_topic_count(sl_meta_get_image(f->m)), topics);
    /* restored from a snapshot, then only the tail was replayed */
    sl_meta_stats st;
    sl_meta_get_stats(f->m, &st);
    assert_int_equal(st.snapshots_restored, 1);
    assert_true(st.records_replayed > 0);
    assert_true(st.records_replayed <= 1024 + 128);
    assert_string_equal(sl_meta_topic_config(topic(f, "topic-0003"), "retention.ms"), "12345");
    assert_null(topic(f, "topic-0009"));
    close_meta(f);
    sl_buf_fini(&before);
    sl_buf_fini(&after);
}

static void test_identity_mismatch_refused(void **state)
{
    fixture *f = *state;
    open_ok(f, 1);
    char cluster[64];
    snprintf(cluster, sizeof cluster, "%s", sl_meta_cluster_id(f->m));
    close_meta(f);

    sl_meta_config cfg = base_config(f, 2);
    sl_meta *m = NULL;
    assert_int_equal(sl_meta_open(&f->loop, &cfg, &m), SL_ERR_INVALID_CONFIG);
    assert_null(m);
    cfg = base_config(f, 1);
    cfg.cluster_id = "SomeOtherClusterIdAAAA";
    assert_int_equal(sl_meta_open(&f->loop, &cfg, &m), SL_ERR_INVALID_CONFIG);
    /* the matching cluster id is accepted */
    cfg.cluster_id = cluster;
    assert_int_equal(open_cfg(f, &cfg), 0);
    close_meta(f);

    /* a metadata log without its meta.properties is refused too */
    char path[128];
    snprintf(path, sizeof path, "%s/meta.properties", f->dir);
    assert_int_equal(unlink(path), 0);
    cfg = base_config(f, 1);
    assert_int_equal(sl_meta_open(&f->loop, &cfg, &m), SL_ERR_INVALID_CONFIG);
    /* a malformed one is corrupt */
    FILE *fp = fopen(path, "w");
    fputs("version=1\nnode.id=abc\ncluster.id=x\n", fp);
    fclose(fp);
    assert_int_equal(sl_meta_open(&f->loop, &cfg, &m), SL_ERR_CORRUPT);
    fp = fopen(path, "w");
    fputs("version=2\nnode.id=1\ncluster.id=x\n", fp);
    fclose(fp);
    assert_int_equal(sl_meta_open(&f->loop, &cfg, &m), SL_ERR_CORRUPT);
    /* bad configs */
    cfg.advertised_port = 0;
    assert_int_equal(sl_meta_open(&f->loop, &cfg, &m), SL_ERR_INVALID_CONFIG);
    cfg = base_config(f, -1);
    assert_int_equal(sl_meta_open(&f->loop, &cfg, &m), SL_ERR_INVALID_CONFIG);
}

static void test_given_cluster_id(void **state)
{
    fixture *f = *state;
    sl_meta_config cfg = base_config(f, 4);
    cfg.cluster_id = "MkU3OEVBNTcwNTJENDM2Qk";
    assert_int_equal(open_cfg(f, &cfg), 0);
    assert_string_equal(sl_meta_cluster_id(f->m), "MkU3OEVBNTcwNTJENDM2Qk");
    close_meta(f);
    /* and it is kept when not given again */
    open_ok(f, 4);
    assert_string_equal(sl_meta_cluster_id(f->m), "MkU3OEVBNTcwNTJENDM2Qk");
    close_meta(f);
}

/* ---- listeners -------------------------------------------------------------- */

typedef struct heard {
    int loaded;
    size_t loaded_topics;
    char log[1024];
    result *pending; /* proposer result, to check ordering */
    bool pending_done_at_event;
} heard;

__attribute__((format(printf, 2, 3))) static void h_append(heard *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t len = strlen(h->log);
    vsnprintf(h->log + len, sizeof h->log - len, fmt, ap);
    va_end(ap);
}

static void h_loaded(void *arg, const sl_meta_image *img)
{
    heard *h = arg;
    h->loaded++;
    h->loaded_topics = sl_meta_topic_count(img);
}
static void h_created(void *arg, const sl_meta_topic *t)
{
    heard *h = arg;
    if (h->pending) h->pending_done_at_event = h->pending->done;
    h_append(h, "created:%s/%d;", sl_meta_topic_name(t), sl_meta_topic_partition_count(t));
}
static void h_deleted(void *arg, const sl_meta_topic *t)
{
    heard *h = arg;
    h_append(h, "deleted:%s;", sl_meta_topic_name(t));
}
static void h_parts(void *arg, const sl_meta_topic *t, int32_t old)
{
    heard *h = arg;
    h_append(h, "parts:%s/%d->%d;", sl_meta_topic_name(t), old, sl_meta_topic_partition_count(t));
}
static void h_tcfg(void *arg, const sl_meta_topic *t)
{
    heard *h = arg;
    const char *v = sl_meta_topic_config(t, "retention.ms");
    h_append(h, "tcfg:%s:%s;", sl_meta_topic_name(t), v ? v : "-");
}
static void h_bcfg(void *arg, int32_t node)
{
    heard *h = arg;
    h_append(h, "bcfg:%d;", node);
}
static void h_broker(void *arg, const sl_meta_broker *b)
{
    heard *h = arg;
    h_append(h, "broker:%d;", sl_meta_broker_node_id(b));
}

static void test_listener_events(void **state)
{
    fixture *f = *state;
    open_ok(f, 1);
    assert_int_equal(create_topic(f, "pre", 1, NULL, 0), 0);
    close_meta(f);

    heard h = {0};
    sl_meta_listener l = {.arg = &h,
                          .loaded = h_loaded,
                          .broker_registered = h_broker,
                          .topic_created = h_created,
                          .topic_deleted = h_deleted,
                          .partitions_added = h_parts,
                          .topic_config_changed = h_tcfg,
                          .broker_config_changed = h_bcfg};
    sl_meta_config cfg = base_config(f, 1);
    f->ready_done = false;
    assert_int_equal(sl_meta_open(&f->loop, &cfg, &f->m), 0);
    sl_meta_add_listener(f->m, &l); /* before the loop runs: hears `loaded` */
    run_until(f, &f->ready_done);
    assert_int_equal(f->ready_status, 0);
    /* replay produced no per-record events, one loaded with the image */
    assert_int_equal(h.loaded, 1);
    assert_int_equal(h.loaded_topics, 1);
    assert_string_equal(h.log, "");

    result r = {0};
    h.pending = &r;
    assert_int_equal(sl_meta_create_topic(f->m, "ev", 2, 1, NULL, 0, on_topic, &r), 0);
    run_until(f, &r.done);
    assert_false(h.pending_done_at_event); /* listener ran before the proposer's callback */
    h.pending = NULL;
    assert_int_equal(create_partitions(f, "ev", 4), 0);
    const sl_config_kv ops[] = {{"retention.ms", "77"}};
    assert_int_equal(alter_topic(f, "ev", ops, 1, false), 0);
    assert_int_equal(alter_topic(f, "ev", ops, 1, false), 0); /* no change: no event */
    assert_int_equal(alter_broker(f, -1, ops, 1), 0);
    assert_int_equal(alter_broker(f, 1, ops, 1), 0);
    assert_int_equal(delete_topic(f, "ev"), 0);
    assert_string_equal(h.log, "created:ev/2;parts:ev/2->4;tcfg:ev:77;bcfg:-1;bcfg:1;deleted:ev;");

    sl_meta_remove_listener(f->m, &l);
    assert_int_equal(create_topic(f, "quiet", 1, NULL, 0), 0);
    assert_string_equal(h.log, "created:ev/2;parts:ev/2->4;tcfg:ev:77;bcfg:-1;bcfg:1;deleted:ev;");
    close_meta(f);
}

/* ---- shutdown edges ------------------------------------------------------ */

typedef struct closer {
    fixture *f;
    bool closed;
    int status;
    bool done;
} closer;

static void close_from_cb(void *arg, int status, const sl_meta_topic *t)
{
    (void)t;
    closer *c = arg;
    c->done = true;
    c->status = status;
    sl_meta_close(c->f->m, on_closed, &c->closed);
}

static void test_close_from_callback_and_pending(void **state)
{
    fixture *f = *state;
    open_ok(f, 1);
    closer c = {.f = f};
    result later = {0};
    assert_int_equal(sl_meta_create_topic(f->m, "x", 1, 1, NULL, 0, close_from_cb, &c), 0);
    run_until(f, &c.done);
    assert_int_equal(c.status, 0);
    /* closing: new proposals are refused */
    assert_int_equal(sl_meta_create_topic(f->m, "y", 1, 1, NULL, 0, on_topic, &later),
                     SL_ERR_CLOSED);
    run_until(f, &c.closed);
    f->m = NULL;

    /* proposals queued but not yet submitted fail with SL_ERR_CLOSED */
    open_ok(f, 1);
    result q = {0};
    assert_int_equal(sl_meta_create_topic(f->m, "z", 1, 1, NULL, 0, on_topic, &q), 0);
    result p = {0};
    assert_int_equal(sl_meta_alloc_producer_ids(f->m, 10, on_pids, &p), 0);
    close_meta(f);
    assert_true(q.done);
    assert_int_equal(q.status, SL_ERR_CLOSED);
    assert_true(p.done);
    assert_int_equal(p.status, SL_ERR_CLOSED);

    /* closed before ready: ready_cb reports SL_ERR_CLOSED */
    sl_meta_config cfg = base_config(f, 1);
    f->ready_done = false;
    assert_int_equal(sl_meta_open(&f->loop, &cfg, &f->m), 0);
    assert_int_equal(sl_meta_create_topic(f->m, "w", 1, 1, NULL, 0, on_topic, &q),
                     SL_ERR_NOT_LEADER);
    close_meta(f);
    assert_true(f->ready_done);
    assert_int_equal(f->ready_status, SL_ERR_CLOSED);
}

/* A record this build cannot read (from a newer sluice) stops the image at
 * the record before it, refuses proposals, and fails the next startup with
 * a clear error; an unknown record marked ignorable is skipped. */
static void test_unreadable_record(void **state)
{
    fixture *f = *state;
    open_ok(f, 1);
    assert_int_equal(create_topic(f, "before", 1, NULL, 0), 0);
    const uint8_t ignorable[] = {1, 200, 1, SL_META_RECORD_IGNORABLE, 7, 7, 7};
    result r = {0};
    assert_int_equal(
        wait_plain(f, sl_meta_propose_raw(f->m, ignorable, sizeof ignorable, on_done, &r), &r), 0);
    assert_true(sl_meta_is_ready(f->m));
    const uint8_t newer[] = {1, 200, 1, 0, 7, 7, 7};
    result r2 = {0};
    assert_int_equal(
        wait_plain(f, sl_meta_propose_raw(f->m, newer, sizeof newer, on_done, &r2), &r2),
        SL_ERR_UNSUPPORTED_VERSION);
    assert_false(sl_meta_is_ready(f->m));
    result r3 = {0};
    assert_int_equal(sl_meta_create_topic(f->m, "after", 1, 1, NULL, 0, on_topic, &r3),
                     SL_ERR_UNSUPPORTED_VERSION);
    close_meta(f);

    sl_meta_config cfg = base_config(f, 1);
    assert_int_equal(open_cfg(f, &cfg), SL_ERR_UNSUPPORTED_VERSION);
    /* the image holds everything before the unreadable record */
    assert_non_null(topic(f, "before"));
    close_meta(f);
}

/* A damaged snapshot fails startup with an error through ready_cb, and the
 * instance still closes cleanly. */
static void test_corrupt_snapshot(void **state)
{
    fixture *f = *state;
    sl_meta_config cfg = base_config(f, 1);
    cfg.snapshot_threshold = 16;
    cfg.snapshot_trailing = 4;
    assert_int_equal(open_cfg(f, &cfg), 0);
    char name[32];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "s%d", i);
        assert_int_equal(create_topic(f, name, 1, NULL, 0), 0);
    }
    close_meta(f);

    char raft_dir[128];
    snprintf(raft_dir, sizeof raft_dir, "%s/__meta", f->dir);
    DIR *d = opendir(raft_dir);
    assert_non_null(d);
    struct dirent *e;
    int damaged = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "snapshot-", 9) != 0 ||
            (len > 5 && !strcmp(e->d_name + len - 5, ".meta")))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", raft_dir, e->d_name);
        FILE *fp = fopen(path, "r+b");
        assert_non_null(fp);
        assert_int_equal(fseek(fp, 20, SEEK_SET), 0);
        int c = fgetc(fp);
        assert_int_equal(fseek(fp, 20, SEEK_SET), 0);
        fputc(c ^ 0xff, fp);
        fclose(fp);
        damaged++;
    }
    closedir(d);
    assert_true(damaged >= 1);

    int rc = open_cfg(f, &cfg);
    assert_true(rc == SL_ERR_CORRUPT || rc == SL_ERR_IO);
    assert_false(sl_meta_is_ready(f->m));
    result r = {0};
    assert_int_equal(sl_meta_create_topic(f->m, "x", 1, 1, NULL, 0, on_topic, &r),
                     SL_ERR_NOT_LEADER);
    close_meta(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topic_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_producer_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_restores_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_and_tail_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_mismatch_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_given_cluster_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listener_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_from_callback_and_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_snapshot, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

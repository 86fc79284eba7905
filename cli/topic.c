/* sluice topic list|create|describe|alter-config|add-partitions|delete */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cli.h"

static const char topic_help[] =
    "Usage: sluice topic SUBCOMMAND [ARGS]\n"
    "\n"
    "Subcommands:\n"
    "  list                               topics with partition counts\n"
    "  create NAME [-p N] [-r RF] [-c KEY=VALUE ...]   create a topic\n"
    "  describe NAME                      partitions, leaders, replicas, ISR, offsets, configs\n"
    "  alter-config NAME KEY=VALUE ... [--delete KEY ...]   change topic configs\n"
    "  add-partitions NAME N              add N partitions\n"
    "  delete NAME                        delete a topic and its data\n"
    "\n"
    "'sluice topic SUBCOMMAND --help' tells more.\n";

static const char list_help[] =
    "Usage: sluice topic list [--all]\n"
    "\n"
    "Lists topics: name, partition count and replication factor.\n"
    "\n"
    "  --all   include internal topics (names starting with \"__\")\n"
    "\n"
    "JSON: {\"topics\":[{\"name\":..,\"partitions\":N,\"replication_factor\":N}]}\n";

static const char create_help[] =
    "Usage: sluice topic create NAME [-p N] [-r RF] [-c KEY=VALUE ...] [KEY=VALUE ...]\n"
    "\n"
    "Creates a topic.\n"
    "\n"
    "  -p, --partitions N            partition count (default: the broker's num.partitions)\n"
    "  -r, --replication-factor RF   replicas per partition (default: the broker's\n"
    "                                default.replication.factor)\n"
    "  -c, --config KEY=VALUE        topic config, e.g. -c retention.ms=86400000 (repeatable;\n"
    "                                KEY=VALUE arguments after NAME mean the same)\n"
    "\n"
    "Fails with exit code 1 if the topic exists.\n"
    "JSON: {\"topic\":..,\"created\":true,\"partitions\":N|null,\"replication_factor\":N|null}\n";

static const char describe_help[] =
    "Usage: sluice topic describe NAME\n"
    "\n"
    "Shows every partition (leader, replicas, in-sync replicas, log start and log end\n"
    "offsets) and the topic's configs with their source.\n"
    "\n"
    "JSON: {\"topic\":..,\"partitions\":[{\"partition\":N,\"leader\":N,\"replicas\":[..],\n"
    "       \"isr\":[..],\"log_start_offset\":N,\"log_end_offset\":N}],\n"
    "       \"configs\":[{\"name\":..,\"value\":..,\"source\":..,\"default\":bool,\n"
    "       \"read_only\":bool,\"sensitive\":bool}]}\n";

static const char alter_help[] =
    "Usage: sluice topic alter-config NAME KEY=VALUE ... [--delete KEY ...]\n"
    "\n"
    "Sets topic configs (e.g. retention.ms=3600000) and, with --delete, removes\n"
    "topic-level settings so the broker default applies again. Configs set on the\n"
    "topic before and not named here are kept.\n"
    "\n"
    "  -d, --delete KEY   remove the topic's own value for KEY (repeatable)\n"
    "\n"
    "JSON: {\"topic\":..,\"set\":{KEY:VALUE,..},\"deleted\":[KEY,..]}\n";

static const char addp_help[] =
    "Usage: sluice topic add-partitions NAME N\n"
    "\n"
    "Adds N partitions to the topic (partitions can never be removed). Messages keep\n"
    "their partition, so keyed messages may land elsewhere than before from now on.\n"
    "\n"
    "JSON: {\"topic\":..,\"partitions_before\":N,\"partitions_after\":N}\n";

static const char delete_help[] = "Usage: sluice topic delete NAME\n"
                                  "\n"
                                  "Deletes the topic and all its messages.\n"
                                  "\n"
                                  "JSON: {\"topic\":..,\"deleted\":true}\n";

/* Prints the per-topic result of an admin call; returns the exit code. */
static int check_topic_results(const rd_kafka_topic_result_t **res, size_t n, const char *what)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
        if (!err) continue;
        const char *msg = rd_kafka_topic_result_error_string(res[i]);
        if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            rc = sl_fail(SL_EXIT_NOT_FOUND, "unknown topic '%s'",
                         rd_kafka_topic_result_name(res[i]));
        else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            rc = sl_fail(SL_EXIT_FAILED, "topic '%s' already exists",
                         rd_kafka_topic_result_name(res[i]));
        else
            rc = sl_fail(sl_exit_for(err), "%s '%s' failed: %s", what,
                         rd_kafka_topic_result_name(res[i]),
                         msg && *msg ? msg : rd_kafka_err2str(err));
    }
    return rc;
}

static int cmp_topic(const void *a, const void *b)
{
    return strcmp((*(const rd_kafka_metadata_topic_t *const *)a)->topic,
                  (*(const rd_kafka_metadata_topic_t *const *)b)->topic);
}

/* ---- list ------------------------------------------------------------------ */

enum { O_ALL = 1, O_PARTITIONS, O_RF, O_CONFIG, O_DELETE };

static int topic_list(sl_cli *cli, int argc, char **argv)
{
    static const sl_opt opts[] = {{"all", 'a', false, O_ALL}, {NULL, 0, false, 0}};
    sl_args a;
    int rc;
    bool all = false;
    if (!sl_args_begin(cli, opts, argc, argv, list_help, 0, 0, "nothing", &a, &rc)) goto out;
    for (int i = 0; i < a.nopts; i++)
        if (a.opts[i].id == O_ALL) all = true;
    sl_client c;
    if ((rc = sl_admin_client_open(&c, cli))) goto out;
    const rd_kafka_metadata_t *md;
    if ((rc = sl_client_metadata(&c, NULL, &md)) == 0) {
        const rd_kafka_metadata_topic_t **ts = sl_calloc((size_t)md->topic_cnt + 1, sizeof(*ts));
        int n = 0;
        for (int i = 0; i < md->topic_cnt; i++)
            if (all || strncmp(md->topics[i].topic, "__", 2) != 0) ts[n++] = &md->topics[i];
        qsort(ts, (size_t)n, sizeof(*ts), cmp_topic);
        if (cli->json) {
            sl_json j;
            sl_json_init(&j, stdout);
            sl_json_obj(&j);
            sl_json_key(&j, "topics");
            sl_json_arr(&j);
            for (int i = 0; i < n; i++) {
                sl_json_obj(&j);
                sl_json_kstr(&j, "name", ts[i]->topic);
                sl_json_kint(&j, "partitions", ts[i]->partition_cnt);
                sl_json_kint(&j, "replication_factor",
                             ts[i]->partition_cnt ? ts[i]->partitions[0].replica_cnt : 0);
                sl_json_obj_end(&j);
            }
            sl_json_arr_end(&j);
            sl_json_obj_end(&j);
            sl_json_end_line(&j);
        } else {
            sl_table *t = sl_table_new(3, "TOPIC", "PARTITIONS", "REPLICAS");
            for (int i = 0; i < n; i++) {
                sl_table_add(t, "%s", ts[i]->topic);
                sl_table_add(t, "%d", ts[i]->partition_cnt);
                sl_table_add(t, "%d", ts[i]->partition_cnt ? ts[i]->partitions[0].replica_cnt : 0);
            }
            sl_table_end_row(t);
            if (n)
                sl_table_print(t, stdout);
            else
                printf("no topics\n");
            sl_table_free(t);
        }
        sl_free(ts);
        rd_kafka_metadata_destroy(md);
    }
    sl_client_close(&c);
out:
    sl_args_free(&a);
    return rc;
}

/* ---- create ---------------------------------------------------------------- */

static int topic_create(sl_cli *cli, int argc, char **argv)
{
    static const sl_opt opts[] = {{"partitions", 'p', true, O_PARTITIONS},
                                  {"replication-factor", 'r', true, O_RF},
                                  {"config", 'c', true, O_CONFIG},
                                  {NULL, 0, false, 0}};
    sl_args a;
    int32_t partitions = -1, rf = -1;
    rd_kafka_NewTopic_t *nt = NULL;
    int rc;
    if (!sl_args_begin(cli, opts, argc, argv, create_help, 1, -1, "topic NAME", &a, &rc)) goto out;
    const char *name = a.pos[0];
    for (int i = 0; i < a.nopts; i++) {
        const char *v = a.opts[i].arg;
        if (a.opts[i].id == O_PARTITIONS && sl_parse_i32(v, 1, 1000000, &partitions) != 0) {
            rc = sl_usage(cli, "bad partition count '%s' (1 or more)", v);
            goto out;
        }
        if (a.opts[i].id == O_RF && sl_parse_i32(v, 1, 32767, &rf) != 0) {
            rc = sl_usage(cli, "bad replication factor '%s' (1 or more)", v);
            goto out;
        }
    }
    char errstr[512];
    nt = rd_kafka_NewTopic_new(name, partitions, rf, errstr, sizeof(errstr));
    if (!nt) {
        rc = sl_usage(cli, "%s", errstr);
        goto out;
    }
    /* Configs: -c KEY=VALUE and bare KEY=VALUE positionals. */
    for (int i = 0; i < a.nopts + a.npos; i++) {
        const char *kv;
        if (i < a.nopts) {
            if (a.opts[i].id != O_CONFIG) continue;
            kv = a.opts[i].arg;
        } else if (i == a.nopts) {
            continue; /* the topic name */
        } else {
            kv = a.pos[i - a.nopts];
        }
        char key[256];
        const char *value;
        if (sl_split_kv(kv, key, sizeof(key), &value) != 0) {
            rc = sl_usage(cli, "expected KEY=VALUE, got '%s'", kv);
            goto out;
        }
        rd_kafka_NewTopic_set_config(nt, key, value);
    }

    sl_client c;
    if ((rc = sl_admin_client_open(&c, cli))) goto out;
    const rd_kafka_metadata_t *md;
    if ((rc = sl_client_metadata(&c, NULL, &md)) == 0) {
        rd_kafka_metadata_destroy(md);
        sl_admin ad;
        sl_admin_begin(&c, &ad, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_CreateTopics(c.rk, &nt, 1, ad.o, ad.q);
        rd_kafka_event_t *ev = sl_admin_end(&c, &ad, "create topic", &rc);
        if (ev) {
            size_t n;
            const rd_kafka_topic_result_t **res =
                rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
            rc = check_topic_results(res, n, "creating topic");
            rd_kafka_event_destroy(ev);
        }
    }
    sl_client_close(&c);
    if (rc == 0) {
        if (cli->json) {
            sl_json j;
            sl_json_init(&j, stdout);
            sl_json_obj(&j);
            sl_json_kstr(&j, "topic", name);
            sl_json_kbool(&j, "created", true);
            sl_json_key(&j, "partitions");
            if (partitions > 0)
                sl_json_int(&j, partitions);
            else
                sl_json_null(&j);
            sl_json_key(&j, "replication_factor");
            if (rf > 0)
                sl_json_int(&j, rf);
            else
                sl_json_null(&j);
            sl_json_obj_end(&j);
            sl_json_end_line(&j);
        } else {
            printf("created topic %s", name);
            if (partitions > 0) printf(" with %" PRId32 " partitions", partitions);
            if (rf > 0) printf(", replication factor %" PRId32, rf);
            printf("\n");
        }
    }
out:
    if (nt) rd_kafka_NewTopic_destroy(nt);
    sl_args_free(&a);
    return rc;
}

/* ---- configs (describe and alter-config) ----------------------------------- */

/* Runs DescribeConfigs for the topic; *ev holds the result (destroy it). */
static int describe_configs(sl_client *c, const char *topic, rd_kafka_event_t **ev,
                            const rd_kafka_ConfigEntry_t ***entries, size_t *n)
{
    int rc;
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    sl_admin ad;
    sl_admin_begin(c, &ad, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(c->rk, &res, 1, ad.o, ad.q);
    *ev = sl_admin_end(c, &ad, "describe configs", &rc);
    if (*ev) {
        size_t nres;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(*ev), &nres);
        rd_kafka_resp_err_t err =
            nres ? rd_kafka_ConfigResource_error(rs[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
        if (err) {
            if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                rc = sl_fail(SL_EXIT_NOT_FOUND, "unknown topic '%s'", topic);
            else
                rc = sl_fail(sl_exit_for(err), "describing configs of '%s' failed: %s", topic,
                             nres ? rd_kafka_ConfigResource_error_string(rs[0]) : "empty answer");
            rd_kafka_event_destroy(*ev);
            *ev = NULL;
        } else {
            *entries = (const rd_kafka_ConfigEntry_t **)rd_kafka_ConfigResource_configs(rs[0], n);
        }
    }
    rd_kafka_ConfigResource_destroy(res);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(rd_kafka_ConfigEntry_name(*(const rd_kafka_ConfigEntry_t *const *)a),
                  rd_kafka_ConfigEntry_name(*(const rd_kafka_ConfigEntry_t *const *)b));
}

static const char *source_name(const rd_kafka_ConfigEntry_t *e)
{
    switch (rd_kafka_ConfigEntry_source(e)) {
    case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG:
        return "topic";
    case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG:
        return "broker (dynamic)";
    case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG:
        return "cluster default (dynamic)";
    case RD_KAFKA_CONFIG_SOURCE_STATIC_BROKER_CONFIG:
        return "broker config";
    case RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG:
        return "default";
    default:
        return "unknown";
    }
}

/* ---- describe -------------------------------------------------------------- */

static void print_ids(sl_json *j, const int32_t *ids, int n)
{
    sl_json_arr(j);
    for (int i = 0; i < n; i++)
        sl_json_int(j, ids[i]);
    sl_json_arr_end(j);
}

static char *ids_text(const int32_t *ids, int n)
{
    size_t cap = (size_t)n * 12 + 2, len = 0;
    char *s = sl_malloc(cap);
    s[0] = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%" PRId32, i ? "," : "", ids[i]);
    return s;
}

static int cmp_partition(const void *a, const void *b)
{
    const rd_kafka_metadata_partition_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int topic_describe(sl_cli *cli, int argc, char **argv)
{
    sl_args a;
    int rc;
    if (!sl_args_begin(cli, NULL, argc, argv, describe_help, 1, 1, "topic NAME", &a, &rc)) goto out;
    const char *name = a.pos[0];
    sl_client c;
    if ((rc = sl_admin_client_open(&c, cli))) goto out;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_partition_list_t *lo = NULL, *hi = NULL;
    rd_kafka_event_t *cev = NULL;
    rd_kafka_metadata_partition_t *ps = NULL;
    if ((rc = sl_client_metadata(&c, name, &md))) goto done;
    const rd_kafka_metadata_topic_t *t = sl_metadata_topic(md, name, &rc);
    if (!t) goto done;
    int np = t->partition_cnt;
    ps = sl_calloc((size_t)np + 1, sizeof(*ps));
    memcpy(ps, t->partitions, (size_t)np * sizeof(*ps));
    qsort(ps, (size_t)np, sizeof(*ps), cmp_partition);
    lo = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np; i++)
        rd_kafka_topic_partition_list_add(lo, name, ps[i].id);
    hi = rd_kafka_topic_partition_list_copy(lo);
    if ((rc = sl_offsets_at(&c, lo, SL_TIME_EARLIEST, false)) ||
        (rc = sl_offsets_at(&c, hi, SL_TIME_LATEST, false)))
        goto done;
    const rd_kafka_ConfigEntry_t **entries = NULL;
    size_t nent = 0;
    if ((rc = describe_configs(&c, name, &cev, &entries, &nent))) goto done;
    const rd_kafka_ConfigEntry_t **sorted = sl_calloc(nent + 1, sizeof(*sorted));
    memcpy(sorted, entries, nent * sizeof(*sorted));
    qsort(sorted, nent, sizeof(*sorted), cmp_entry);

    if (cli->json) {
        sl_json j;
        sl_json_init(&j, stdout);
        sl_json_obj(&j);
        sl_json_kstr(&j, "topic", name);
        sl_json_key(&j, "partitions");
        sl_json_arr(&j);
        for (int i = 0; i < np; i++) {
            sl_json_obj(&j);
            sl_json_kint(&j, "partition", ps[i].id);
            sl_json_kint(&j, "leader", ps[i].leader);
            sl_json_key(&j, "replicas");
            print_ids(&j, ps[i].replicas, ps[i].replica_cnt);
            sl_json_key(&j, "isr");
            print_ids(&j, ps[i].isrs, ps[i].isr_cnt);
            sl_json_key(&j, "log_start_offset");
            if (lo->elems[i].err)
                sl_json_null(&j);
            else
                sl_json_int(&j, lo->elems[i].offset);
            sl_json_key(&j, "log_end_offset");
            if (hi->elems[i].err)
                sl_json_null(&j);
            else
                sl_json_int(&j, hi->elems[i].offset);
            if (ps[i].err) sl_json_kstr(&j, "error", rd_kafka_err2str(ps[i].err));
            sl_json_obj_end(&j);
        }
        sl_json_arr_end(&j);
        sl_json_key(&j, "configs");
        sl_json_arr(&j);
        for (size_t i = 0; i < nent; i++) {
            const rd_kafka_ConfigEntry_t *e = sorted[i];
            sl_json_obj(&j);
            sl_json_kstr(&j, "name", rd_kafka_ConfigEntry_name(e));
            sl_json_kstr(&j, "value", rd_kafka_ConfigEntry_value(e));
            sl_json_kstr(&j, "source", source_name(e));
            sl_json_kbool(&j, "default", rd_kafka_ConfigEntry_is_default(e));
            sl_json_kbool(&j, "read_only", rd_kafka_ConfigEntry_is_read_only(e));
            sl_json_kbool(&j, "sensitive", rd_kafka_ConfigEntry_is_sensitive(e));
            sl_json_obj_end(&j);
        }
        sl_json_arr_end(&j);
        sl_json_obj_end(&j);
        sl_json_end_line(&j);
    } else {
        printf("topic %s: %d partitions, replication factor %d\n\n", name, np,
               np ? ps[0].replica_cnt : 0);
        sl_table *tb =
            sl_table_new(7, "PARTITION", "LEADER", "REPLICAS", "ISR", "LOG-START", "LOG-END", "");
        int64_t total = 0;
        for (int i = 0; i < np; i++) {
            sl_table_add(tb, "%" PRId32, ps[i].id);
            sl_table_add(tb, "%" PRId32, ps[i].leader);
            char *r = ids_text(ps[i].replicas, ps[i].replica_cnt);
            char *s = ids_text(ps[i].isrs, ps[i].isr_cnt);
            sl_table_add(tb, "%s", r);
            sl_table_add(tb, "%s", s);
            sl_free(r);
            sl_free(s);
            bool ok = !lo->elems[i].err && !hi->elems[i].err;
            if (ok) {
                sl_table_add(tb, "%" PRId64, lo->elems[i].offset);
                sl_table_add(tb, "%" PRId64, hi->elems[i].offset);
                total += hi->elems[i].offset - lo->elems[i].offset;
            } else {
                sl_table_add(tb, "-");
                sl_table_add(tb, "-");
            }
            rd_kafka_resp_err_t err = ps[i].err ? ps[i].err : lo->elems[i].err;
            sl_table_add(tb, "%s", err ? rd_kafka_err2str(err) : "");
        }
        sl_table_end_row(tb);
        sl_table_print(tb, stdout);
        sl_table_free(tb);
        printf("\n%" PRId64 " messages in the log\n\n", total);
        tb = sl_table_new(3, "CONFIG", "VALUE", "SOURCE");
        for (size_t i = 0; i < nent; i++) {
            const rd_kafka_ConfigEntry_t *e = sorted[i];
            const char *v = rd_kafka_ConfigEntry_value(e);
            sl_table_add(tb, "%s", rd_kafka_ConfigEntry_name(e));
            sl_table_add(tb, "%s",
                         rd_kafka_ConfigEntry_is_sensitive(e) ? "(sensitive)"
                         : v                                  ? v
                                                              : "(null)");
            sl_table_add(tb, "%s", source_name(e));
        }
        sl_table_end_row(tb);
        if (nent)
            sl_table_print(tb, stdout);
        else
            printf("no configs reported\n");
        sl_table_free(tb);
    }
    sl_free(sorted);
done:
    if (cev) rd_kafka_event_destroy(cev);
    if (lo) rd_kafka_topic_partition_list_destroy(lo);
    if (hi) rd_kafka_topic_partition_list_destroy(hi);
    sl_free(ps);
    if (md) rd_kafka_metadata_destroy(md);
    sl_client_close(&c);
out:
    sl_args_free(&a);
    return rc;
}

/* ---- alter-config ---------------------------------------------------------- */

static int topic_alter_config(sl_cli *cli, int argc, char **argv)
{
    static const sl_opt opts[] = {{"delete", 'd', true, O_DELETE}, {NULL, 0, false, 0}};
    sl_args a;
    int rc;
    if (!sl_args_begin(cli, opts, argc, argv, alter_help, 1, -1, "topic NAME", &a, &rc)) goto out;
    if (a.npos < 2 && a.nopts == 0) {
        rc = sl_usage(cli, "nothing to change: give KEY=VALUE or --delete KEY");
        goto out;
    }
    const char *name = a.pos[0];
    for (int i = 1; i < a.npos; i++) {
        char key[256];
        const char *v;
        if (sl_split_kv(a.pos[i], key, sizeof(key), &v) != 0) {
            rc = sl_usage(cli, "expected KEY=VALUE, got '%s'", a.pos[i]);
            goto out;
        }
    }

    sl_client c;
    if ((rc = sl_admin_client_open(&c, cli))) goto out;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_event_t *cev = NULL;
    rd_kafka_ConfigResource_t *res = NULL;
    if ((rc = sl_client_metadata(&c, name, &md))) goto done;
    if (!sl_metadata_topic(md, name, &rc)) goto done;
    /* AlterConfigs replaces the topic's whole config set (librdkafka 2.0 has
     * no incremental variant), so start from the topic's current own values. */
    const rd_kafka_ConfigEntry_t **entries = NULL;
    size_t nent = 0;
    if ((rc = describe_configs(&c, name, &cev, &entries, &nent))) goto done;
    res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name);
    for (size_t i = 0; i < nent; i++) {
        const rd_kafka_ConfigEntry_t *e = entries[i];
        if (rd_kafka_ConfigEntry_source(e) != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG) continue;
        const char *k = rd_kafka_ConfigEntry_name(e);
        bool replaced = false;
        for (int o = 0; o < a.nopts; o++)
            if (strcmp(a.opts[o].arg, k) == 0) replaced = true;
        for (int p = 1; p < a.npos; p++) {
            const char *eq = strchr(a.pos[p], '=');
            if (strlen(k) == (size_t)(eq - a.pos[p]) && memcmp(a.pos[p], k, strlen(k)) == 0)
                replaced = true;
        }
        if (!replaced) rd_kafka_ConfigResource_set_config(res, k, rd_kafka_ConfigEntry_value(e));
    }
    for (int p = 1; p < a.npos; p++) {
        char key[256];
        const char *v;
        sl_split_kv(a.pos[p], key, sizeof(key), &v);
        rd_kafka_ConfigResource_set_config(res, key, v);
    }
    rd_kafka_event_destroy(cev);
    cev = NULL;

    sl_admin ad;

    sl_admin_begin(&c, &ad, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
    rd_kafka_AlterConfigs(c.rk, &res, 1, ad.o, ad.q);
    rd_kafka_event_t *ev = sl_admin_end(&c, &ad, "alter configs", &rc);
    if (ev) {
        size_t nres;
        const rd_kafka_ConfigResource_t **rs =
            rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &nres);
        for (size_t i = 0; i < nres; i++) {
            rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(rs[i]);
            if (!err) continue;
            const char *m = rd_kafka_ConfigResource_error_string(rs[i]);
            rc = sl_fail(sl_exit_for(err), "altering configs of '%s' failed: %s", name,
                         m && *m ? m : rd_kafka_err2str(err));
        }
        rd_kafka_event_destroy(ev);
    }
    if (rc == 0) {
        if (cli->json) {
            sl_json j;
            sl_json_init(&j, stdout);
            sl_json_obj(&j);
            sl_json_kstr(&j, "topic", name);
            sl_json_key(&j, "set");
            sl_json_obj(&j);
            for (int p = 1; p < a.npos; p++) {
                char key[256];
                const char *v;
                sl_split_kv(a.pos[p], key, sizeof(key), &v);
                sl_json_kstr(&j, key, v);
            }
            sl_json_obj_end(&j);
            sl_json_key(&j, "deleted");
            sl_json_arr(&j);
            for (int i = 0; i < a.nopts; i++)
                sl_json_str(&j, a.opts[i].arg);
            sl_json_arr_end(&j);
            sl_json_obj_end(&j);
            sl_json_end_line(&j);
        } else {
            for (int p = 1; p < a.npos; p++)
                printf("%s: set %s\n", name, a.pos[p]);
            for (int i = 0; i < a.nopts; i++)
                printf("%s: deleted %s (the default applies)\n", name, a.opts[i].arg);
        }
    }
done:
    if (res) rd_kafka_ConfigResource_destroy(res);
    if (cev) rd_kafka_event_destroy(cev);
    if (md) rd_kafka_metadata_destroy(md);
    sl_client_close(&c);
out:
    sl_args_free(&a);
    return rc;
}

/* ---- add-partitions -------------------------------------------------------- */

static int topic_add_partitions(sl_cli *cli, int argc, char **argv)
{
    sl_args a;
    int32_t add;
    int rc;
    if (!sl_args_begin(cli, NULL, argc, argv, addp_help, 2, 2,
                       "NAME and N (the number of partitions to add)", &a, &rc))
        goto out;
    if (sl_parse_i32(a.pos[1], 1, 1000000, &add) != 0) {
        rc = sl_usage(cli, "bad partition count '%s' (1 or more partitions to add)", a.pos[1]);
        goto out;
    }
    const char *name = a.pos[0];
    sl_client c;
    if ((rc = sl_admin_client_open(&c, cli))) goto out;
    const rd_kafka_metadata_t *md = NULL;
    if ((rc = sl_client_metadata(&c, name, &md))) goto done;
    const rd_kafka_metadata_topic_t *t = sl_metadata_topic(md, name, &rc);
    if (!t) goto done;
    int before = t->partition_cnt;
    char errstr[512];
    rd_kafka_NewPartitions_t *np =
        rd_kafka_NewPartitions_new(name, (size_t)before + (size_t)add, errstr, sizeof(errstr));
    if (!np) {
        rc = sl_fail(SL_EXIT_USAGE, "%s", errstr);
        goto done;
    }
    sl_admin ad;
    sl_admin_begin(&c, &ad, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
    rd_kafka_CreatePartitions(c.rk, &np, 1, ad.o, ad.q);
    rd_kafka_event_t *ev = sl_admin_end(&c, &ad, "add partitions", &rc);
    if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
        rc = check_topic_results(res, n, "adding partitions to");
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewPartitions_destroy(np);
    if (rc == 0) {
        if (cli->json) {
            sl_json j;
            sl_json_init(&j, stdout);
            sl_json_obj(&j);
            sl_json_kstr(&j, "topic", name);
            sl_json_kint(&j, "partitions_before", before);
            sl_json_kint(&j, "partitions_after", before + add);
            sl_json_obj_end(&j);
            sl_json_end_line(&j);
        } else {
            printf("topic %s: %d -> %d partitions\n", name, before, before + add);
        }
    }
done:
    if (md) rd_kafka_metadata_destroy(md);
    sl_client_close(&c);
out:
    sl_args_free(&a);
    return rc;
}

/* ---- delete ---------------------------------------------------------------- */

static int topic_delete(sl_cli *cli, int argc, char **argv)
{
    sl_args a;
    int rc;
    if (!sl_args_begin(cli, NULL, argc, argv, delete_help, 1, 1, "topic NAME", &a, &rc)) goto out;
    const char *name = a.pos[0];
    sl_client c;
    if ((rc = sl_admin_client_open(&c, cli))) goto out;
    const rd_kafka_metadata_t *md = NULL;
    if ((rc = sl_client_metadata(&c, name, &md))) goto done;
    if (!sl_metadata_topic(md, name, &rc)) goto done;
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(name);
    sl_admin ad;
    sl_admin_begin(&c, &ad, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_DeleteTopics(c.rk, &dt, 1, ad.o, ad.q);
    rd_kafka_event_t *ev = sl_admin_end(&c, &ad, "delete topic", &rc);
    if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        rc = check_topic_results(res, n, "deleting topic");
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_DeleteTopic_destroy(dt);
    if (rc == 0) {
        if (cli->json)
            sl_json_print_flag("topic", name, "deleted");
        else
            printf("deleted topic %s\n", name);
    }
done:
    if (md) rd_kafka_metadata_destroy(md);
    sl_client_close(&c);
out:
    sl_args_free(&a);
    return rc;
}

int sl_cmd_topic(sl_cli *cli, int argc, char **argv)
{
    static const sl_subcmd subs[] = {
        {"list", topic_list},
        {"create", topic_create},
        {"describe", topic_describe},
        {"alter-config", topic_alter_config},
        {"add-partitions", topic_add_partitions},
        {"delete", topic_delete},
        {NULL, NULL},
    };
    return sl_dispatch(cli, "topic", topic_help, subs, argc, argv);
}

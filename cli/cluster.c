/* sluice cluster info */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/mem.h"
#include "cli.h"

static const char cluster_help[] =
    "Usage: sluice cluster SUBCOMMAND\n"
    "\n"
    "Subcommands:\n"
    "  info   brokers, controller, cluster id and the API versions a broker supports\n";

static const char info_help[] =
    "Usage: sluice cluster info\n"
    "\n"
    "Shows the cluster id, the controller, every broker (id, host, port), the number\n"
    "of topics, and the API versions supported by the first bootstrap broker that\n"
    "answers (asked with a plain ApiVersions v0 request; skipped when -X sets an SSL\n"
    "security.protocol, since that request is sent unencrypted).\n"
    "\n"
    "JSON: {\"cluster_id\":..,\"controller_id\":N,\"brokers\":[{\"id\":N,\"host\":..,\n"
    "       \"port\":N}],\"topics\":N,\"api_versions_from\":..,\"api_versions\":[{\"key\":N,\n"
    "       \"name\":..,\"min_version\":N,\"max_version\":N}]}\n";

static int cmp_broker(const void *a, const void *b)
{
    const rd_kafka_metadata_broker_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static bool uses_ssl(const sl_cli *cli)
{
    for (int i = 0; i < cli->nprops; i++)
        if (strncmp(cli->props[i], "security.protocol=", 18) == 0 &&
            strcasestr(cli->props[i] + 18, "ssl"))
            return true;
    return false;
}

/* Asks each bootstrap address in turn; returns the count or -1. */
static int fetch_versions(const sl_cli *cli, sl_api_range **v, char *from, size_t from_n, char *err,
                          size_t err_n)
{
    char *list = sl_strdup(cli->bootstrap), *save = NULL;
    int n = -1;
    for (char *addr = strtok_r(list, ",", &save); addr; addr = strtok_r(NULL, ",", &save)) {
        while (*addr == ' ')
            addr++;
        n = sl_api_versions_fetch(addr, cli->timeout_ms, v, err, err_n);
        if (n >= 0) {
            snprintf(from, from_n, "%s", addr);
            break;
        }
    }
    sl_free(list);
    return n;
}

static int cluster_info(sl_cli *cli, int argc, char **argv)
{
    sl_args a;
    int rc;
    if (!sl_args_begin(cli, NULL, argc, argv, info_help, 0, 0, "nothing", &a, &rc)) goto out;
    static const char *const defaults[] = {"allow.auto.create.topics", "false", NULL};
    sl_client c;
    rd_kafka_conf_t *conf = sl_client_conf(&c, cli, defaults);
    if (!conf) {
        rc = SL_EXIT_USAGE;
        goto out;
    }
    if ((rc = sl_client_start(&c, RD_KAFKA_CONSUMER, conf))) goto out;
    const rd_kafka_metadata_t *md = NULL;
    char *cluster_id = NULL;
    sl_api_range *versions = NULL;
    if ((rc = sl_client_metadata(&c, NULL, &md))) goto done;
    cluster_id = rd_kafka_clusterid(c.rk, cli->timeout_ms);
    int32_t controller = rd_kafka_controllerid(c.rk, cli->timeout_ms);
    rd_kafka_metadata_broker_t *brokers = sl_calloc((size_t)md->broker_cnt + 1, sizeof(*brokers));
    memcpy(brokers, md->brokers, (size_t)md->broker_cnt * sizeof(*brokers));
    qsort(brokers, (size_t)md->broker_cnt, sizeof(*brokers), cmp_broker);

    char from[256] = "", verr[512] = "";
    int nv = -1;
    bool skipped = uses_ssl(cli);
    if (!skipped) nv = fetch_versions(cli, &versions, from, sizeof(from), verr, sizeof(verr));

    if (cli->json) {
        sl_json j;
        sl_json_init(&j, stdout);
        sl_json_obj(&j);
        sl_json_kstr(&j, "cluster_id", cluster_id);
        sl_json_key(&j, "controller_id");
        controller >= 0 ? sl_json_int(&j, controller) : sl_json_null(&j);
        sl_json_key(&j, "brokers");
        sl_json_arr(&j);
        for (int i = 0; i < md->broker_cnt; i++) {
            sl_json_obj(&j);
            sl_json_kint(&j, "id", brokers[i].id);
            sl_json_kstr(&j, "host", brokers[i].host);
            sl_json_kint(&j, "port", brokers[i].port);
            sl_json_obj_end(&j);
        }
        sl_json_arr_end(&j);
        sl_json_kint(&j, "topics", md->topic_cnt);
        sl_json_kstr(&j, "api_versions_from", nv >= 0 ? from : NULL);
        sl_json_key(&j, "api_versions");
        if (nv >= 0) {
            sl_json_arr(&j);
            for (int i = 0; i < nv; i++) {
                sl_json_obj(&j);
                sl_json_kint(&j, "key", versions[i].key);
                sl_json_kstr(&j, "name", sl_api_key_name(versions[i].key));
                sl_json_kint(&j, "min_version", versions[i].min_version);
                sl_json_kint(&j, "max_version", versions[i].max_version);
                sl_json_obj_end(&j);
            }
            sl_json_arr_end(&j);
        } else {
            sl_json_null(&j);
        }
        sl_json_obj_end(&j);
        sl_json_end_line(&j);
    } else {
        printf("cluster id:  %s\n", cluster_id ? cluster_id : "(none)");
        if (controller >= 0)
            printf("controller:  %" PRId32 "\n", controller);
        else
            printf("controller:  (unknown)\n");
        printf("topics:      %d\n\n", md->topic_cnt);
        sl_table *t = sl_table_new(4, "BROKER", "HOST", "PORT", "");
        for (int i = 0; i < md->broker_cnt; i++) {
            sl_table_add(t, "%" PRId32, brokers[i].id);
            sl_table_add(t, "%s", brokers[i].host);
            sl_table_add(t, "%d", brokers[i].port);
            sl_table_add(t, "%s", brokers[i].id == controller ? "controller" : "");
        }
        sl_table_end_row(t);
        sl_table_print(t, stdout);
        sl_table_free(t);
        if (nv >= 0) {
            printf("\nAPI versions of %s:\n", from);
            t = sl_table_new(4, "KEY", "API", "MIN", "MAX");
            for (int i = 0; i < nv; i++) {
                const char *name = sl_api_key_name(versions[i].key);
                sl_table_add(t, "%d", versions[i].key);
                sl_table_add(t, "%s", name ? name : "?");
                sl_table_add(t, "%d", versions[i].min_version);
                sl_table_add(t, "%d", versions[i].max_version);
            }
            sl_table_end_row(t);
            sl_table_print(t, stdout);
            sl_table_free(t);
        } else if (skipped) {
            printf("\nAPI versions: not asked (SSL security.protocol)\n");
        }
    }
    if (nv < 0 && !skipped) rc = sl_fail(SL_EXIT_FAILED, "API versions unavailable: %s", verr);
    sl_free(brokers);
done:
    sl_free(versions);
    if (cluster_id) rd_kafka_mem_free(c.rk, cluster_id);
    if (md) rd_kafka_metadata_destroy(md);
    sl_client_close(&c);
out:
    sl_args_free(&a);
    return rc;
}

int sl_cmd_cluster(sl_cli *cli, int argc, char **argv)
{
    static const sl_subcmd subs[] = {
        {"info", cluster_info},
        {NULL, NULL},
    };
    return sl_dispatch(cli, "cluster", cluster_help, subs, argc, argv);
}

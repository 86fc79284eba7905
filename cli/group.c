/* sluice group list|describe|reset-offsets|delete */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cli.h"

static const char group_help[] =
    "Usage: sluice group SUBCOMMAND [ARGS]\n"
    "\n"
    "Subcommands:\n"
    "  list                      consumer groups and their state\n"
    "  describe GROUP            members, assignments, committed offsets and lag\n"
    "  reset-offsets GROUP --topic T[:P,...] --to-earliest|--to-latest|--to-offset N|\n"
    "                --to-datetime ISO|--shift-by N [--execute]\n"
    "                            move a group's committed offsets (dry run by default)\n"
    "  delete GROUP              delete an inactive group and its committed offsets\n"
    "\n"
    "'sluice group SUBCOMMAND --help' tells more.\n";

static const char list_help[] =
    "Usage: sluice group list\n"
    "\n"
    "Lists consumer groups with their state (Empty, Stable, PreparingRebalance, ...).\n"
    "\n"
    "JSON: {\"groups\":[{\"group\":..,\"state\":..,\"simple\":bool}]}\n";

static const char describe_help[] =
    "Usage: sluice group describe GROUP\n"
    "\n"
    "Shows the group's state, its members (member id, client id, host and assigned\n"
    "partitions), and for every partition the group has a committed offset for or\n"
    "is assigned: the committed offset, the log end offset and the lag (log end\n"
    "minus committed), with the total lag.\n"
    "\n"
    "JSON: {\"group\":..,\"state\":..,\"assignor\":..,\"coordinator\":{..}|null,\n"
    "       \"members\":[{\"member_id\":..,\"client_id\":..,\"host\":..,\n"
    "       \"assignment\":[{\"topic\":..,\"partition\":N}]}],\n"
    "       \"offsets\":[{\"topic\":..,\"partition\":N,\"committed\":N|null,\n"
    "       \"log_start_offset\":N|null,\"log_end_offset\":N|null,\"lag\":N|null,\n"
    "       \"member_id\":..|null}],\"total_lag\":N}\n";

static const char reset_help[] =
    "Usage: sluice group reset-offsets GROUP --topic T[:P,...] MODE [--execute]\n"
    "\n"
    "Computes new committed offsets for the group and prints the plan (current -> new\n"
    "per partition). Nothing changes without --execute. Targets are clamped into the\n"
    "log (between log start and log end).\n"
    "\n"
    "  -t, --topic T[:P,...]   the topic, optionally only some partitions (repeatable)\n"
    "  MODE, exactly one of:\n"
    "    --to-earliest         the log start: the group re-reads everything\n"
    "    --to-latest           the log end: the group skips everything so far\n"
    "    --to-offset N         offset N\n"
    "    --to-datetime ISO     the first message at or after this time, e.g.\n"
    "                          2026-11-23T10:00:00Z (the log end if none is that recent)\n"
    "    --shift-by N          the committed offset plus N (N may be negative)\n"
    "  --execute               apply the plan\n"
    "\n"
    "With --execute the group must have no active members (state Empty): the members\n"
    "of an active group would overwrite the new offsets with their next commit. Stop\n"
    "the group's consumers first, or wait until the group is Empty (exit code 5).\n"
    "\n"
    "JSON: {\"group\":..,\"executed\":bool,\"state\":..,\"plan\":[{\"topic\":..,\n"
    "       \"partition\":N,\"current\":N|null,\"new\":N,\"log_start_offset\":N,\n"
    "       \"log_end_offset\":N}]}\n";

static const char delete_help[] =
    "Usage: sluice group delete GROUP\n"
    "\n"
    "Deletes the group and its committed offsets. A group with active members cannot\n"
    "be deleted (exit code 5): stop its consumers first.\n"
    "\n"
    "JSON: {\"group\":..,\"deleted\":true}\n";

/* Reports a failed per-group result; returns the exit code. */
static int group_error(const char *group, const rd_kafka_error_t *e, const char *what)
{
    rd_kafka_resp_err_t err = rd_kafka_error_code(e);
    if (err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)
        return sl_fail(SL_EXIT_NOT_FOUND, "unknown group '%s'", group);
    if (err == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP)
        return sl_fail(SL_EXIT_REFUSED,
                       "group '%s' has active members: stop its consumers first, or wait "
                       "until the group is Empty",
                       group);
    return sl_fail(sl_exit_for(err), "%s of group '%s' failed: %s", what, group,
                   rd_kafka_error_string(e));
}

/* DescribeConsumerGroups for one group; *desc lives as long as *ev. */
static int describe_group(sl_client *c, const char *group, rd_kafka_event_t **ev,
                          const rd_kafka_ConsumerGroupDescription_t **desc)
{
    int rc;
    sl_admin ad;
    sl_admin_begin(c, &ad, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    const char *groups[] = {group};
    rd_kafka_DescribeConsumerGroups(c->rk, groups, 1, ad.o, ad.q);
    *ev = sl_admin_end(c, &ad, "describe group", &rc);
    if (*ev) {
        size_t n;
        const rd_kafka_ConsumerGroupDescription_t **ds =
            rd_kafka_DescribeConsumerGroups_result_groups(
                rd_kafka_event_DescribeConsumerGroups_result(*ev), &n);
        const rd_kafka_error_t *e = n ? rd_kafka_ConsumerGroupDescription_error(ds[0]) : NULL;
        if (n == 0 || e) {
            rc = n ? group_error(group, e, "describing")
                   : sl_fail(SL_EXIT_FAILED, "describing group '%s' gave no answer", group);
            rd_kafka_event_destroy(*ev);
            *ev = NULL;
        } else {
            *desc = ds[0];
        }
    }
    return rc;
}

/* The group's committed offsets (all, or for `parts`); *out lives as long as *ev. */
static int committed_offsets(sl_client *c, const char *group,
                             const rd_kafka_topic_partition_list_t *parts, rd_kafka_event_t **ev,
                             const rd_kafka_topic_partition_list_t **out)
{
    int rc;
    sl_admin ad;
    sl_admin_begin(c, &ad, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, parts);
    rd_kafka_ListConsumerGroupOffsets(c->rk, &req, 1, ad.o, ad.q);
    *ev = sl_admin_end(c, &ad, "list committed offsets", &rc);
    if (*ev) {
        size_t n;
        const rd_kafka_group_result_t **gr = rd_kafka_ListConsumerGroupOffsets_result_groups(
            rd_kafka_event_ListConsumerGroupOffsets_result(*ev), &n);
        const rd_kafka_error_t *e = n ? rd_kafka_group_result_error(gr[0]) : NULL;
        if (n == 0 || e) {
            rc = n ? group_error(group, e, "listing committed offsets")
                   : sl_fail(SL_EXIT_FAILED, "listing offsets of '%s' gave no answer", group);
            rd_kafka_event_destroy(*ev);
            *ev = NULL;
        } else {
            *out = rd_kafka_group_result_partitions(gr[0]);
        }
    }
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    return rc;
}

static const char *state_name(rd_kafka_consumer_group_state_t s)
{
    return rd_kafka_consumer_group_state_name(s);
}

/* Active: has members, whose commits would overwrite a reset. */
static bool group_active(const rd_kafka_ConsumerGroupDescription_t *d)
{
    rd_kafka_consumer_group_state_t s = rd_kafka_ConsumerGroupDescription_state(d);
    return rd_kafka_ConsumerGroupDescription_member_count(d) > 0 ||
           (s != RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY && s != RD_KAFKA_CONSUMER_GROUP_STATE_DEAD);
}

static int cmp_tp(const void *a, const void *b)
{
    const rd_kafka_topic_partition_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    if (c) return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

/* ---- list ------------------------------------------------------------------ */

typedef struct listed {
    const char *name;
    rd_kafka_consumer_group_state_t state;
    bool simple;
} listed;

static int cmp_listed(const void *a, const void *b)
{
    return strcmp(((const listed *)a)->name, ((const listed *)b)->name);
}

static int group_list(sl_cli *cli, int argc, char **argv)
{
    sl_args a;
    int rc;
    if (!sl_args_begin(cli, NULL, argc, argv, list_help, 0, 0, "nothing", &a, &rc)) goto out;
    sl_client c;
    if ((rc = sl_admin_client_open(&c, cli))) goto out;
    const rd_kafka_metadata_t *md = NULL;
    if ((rc = sl_client_metadata(&c, NULL, &md))) goto done;
    sl_admin ad;
    sl_admin_begin(&c, &ad, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
    rd_kafka_ListConsumerGroups(c.rk, ad.o, ad.q);
    rd_kafka_event_t *ev = sl_admin_end(&c, &ad, "list groups", &rc);
    if (ev) {
        const rd_kafka_ListConsumerGroups_result_t *res =
            rd_kafka_event_ListConsumerGroups_result(ev);
        size_t n, nerr;
        const rd_kafka_ConsumerGroupListing_t **gs =
            rd_kafka_ListConsumerGroups_result_valid(res, &n);
        const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &nerr);
        listed *v = sl_calloc(n + 1, sizeof(*v));
        for (size_t i = 0; i < n; i++) {
            v[i].name = rd_kafka_ConsumerGroupListing_group_id(gs[i]);
            v[i].state = rd_kafka_ConsumerGroupListing_state(gs[i]);
            v[i].simple = rd_kafka_ConsumerGroupListing_is_simple_consumer_group(gs[i]);
        }
        qsort(v, n, sizeof(*v), cmp_listed);
        if (cli->json) {
            sl_json j;
            sl_json_init(&j, stdout);
            sl_json_obj(&j);
            sl_json_key(&j, "groups");
            sl_json_arr(&j);
            for (size_t i = 0; i < n; i++) {
                sl_json_obj(&j);
                sl_json_kstr(&j, "group", v[i].name);
                sl_json_kstr(&j, "state", state_name(v[i].state));
                sl_json_kbool(&j, "simple", v[i].simple);
                sl_json_obj_end(&j);
            }
            sl_json_arr_end(&j);
            sl_json_obj_end(&j);
            sl_json_end_line(&j);
        } else if (n == 0) {
            if (nerr == 0) printf("no groups\n");
        } else {
            sl_table *t = sl_table_new(3, "GROUP", "STATE", "TYPE");
            for (size_t i = 0; i < n; i++) {
                sl_table_add(t, "%s", v[i].name);
                sl_table_add(t, "%s", state_name(v[i].state));
                sl_table_add(t, "%s", v[i].simple ? "simple" : "consumer");
            }
            sl_table_end_row(t);
            sl_table_print(t, stdout);
            sl_table_free(t);
        }
        /* Some brokers may not have answered: say so, and fail. */
        for (size_t i = 0; i < nerr; i++)
            rc = sl_fail(SL_EXIT_FAILED, "listing groups: %s", rd_kafka_error_string(errs[i]));
        sl_free(v);
        rd_kafka_event_destroy(ev);
    }
done:
    if (md) rd_kafka_metadata_destroy(md);
    sl_client_close(&c);
out:
    sl_args_free(&a);
    return rc;
}

/* ---- describe -------------------------------------------------------------- */

/* The member a partition is assigned to, or NULL. */
static const char *owner_of(const rd_kafka_ConsumerGroupDescription_t *d, const char *topic,
                            int32_t partition)
{
    size_t n = rd_kafka_ConsumerGroupDescription_member_count(d);
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(d, i);
        const rd_kafka_MemberAssignment_t *as = rd_kafka_MemberDescription_assignment(m);
        const rd_kafka_topic_partition_list_t *l =
            as ? rd_kafka_MemberAssignment_partitions(as) : NULL;
        if (l && rd_kafka_topic_partition_list_find(l, topic, partition))
            return rd_kafka_MemberDescription_consumer_id(m);
    }
    return NULL;
}

/* "orders[0,1] payments[2]" from a sorted copy of the assignment. */
static char *assignment_text(const rd_kafka_topic_partition_list_t *l)
{
    if (!l || l->cnt == 0) return sl_strdup("-");
    rd_kafka_topic_partition_list_t *s = rd_kafka_topic_partition_list_copy(l);
    qsort(s->elems, (size_t)s->cnt, sizeof(*s->elems), cmp_tp);
    size_t cap = 64, len = 0;
    char *out = sl_malloc(cap);
    out[0] = 0;
    for (int i = 0; i < s->cnt; i++) {
        bool new_topic = i == 0 || strcmp(s->elems[i].topic, s->elems[i - 1].topic) != 0;
        bool last = i + 1 == s->cnt || strcmp(s->elems[i].topic, s->elems[i + 1].topic) != 0;
        size_t need = strlen(s->elems[i].topic) + 20;
        if (len + need >= cap) {
            cap = (len + need) * 2;
            out = sl_realloc(out, cap);
        }
        if (new_topic)
            len +=
                (size_t)snprintf(out + len, cap - len, "%s%s[", len ? " " : "", s->elems[i].topic);
        len += (size_t)snprintf(out + len, cap - len, "%" PRId32 "%s", s->elems[i].partition,
                                last ? "]" : ",");
    }
    rd_kafka_topic_partition_list_destroy(s);
    return out;
}

static int group_describe(sl_cli *cli, int argc, char **argv)
{
    sl_args a;
    int rc;
    if (!sl_args_begin(cli, NULL, argc, argv, describe_help, 1, 1, "GROUP", &a, &rc)) goto out;
    const char *group = a.pos[0];
    sl_client c;
    if ((rc = sl_admin_client_open(&c, cli))) goto out;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_event_t *dev = NULL, *oev = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL, *lo = NULL, *hi = NULL;
    const rd_kafka_ConsumerGroupDescription_t *d = NULL;
    const rd_kafka_topic_partition_list_t *committed = NULL;
    if ((rc = sl_client_metadata(&c, NULL, &md))) goto done;
    if ((rc = describe_group(&c, group, &dev, &d))) goto done;
    if ((rc = committed_offsets(&c, group, NULL, &oev, &committed))) goto done;
    rd_kafka_consumer_group_state_t state = rd_kafka_ConsumerGroupDescription_state(d);
    size_t nmembers = rd_kafka_ConsumerGroupDescription_member_count(d);
    /* Kafka describes a group it does not know as Dead with no members. */
    if ((state == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD ||
         state == RD_KAFKA_CONSUMER_GROUP_STATE_UNKNOWN) &&
        nmembers == 0 && (!committed || committed->cnt == 0)) {
        rc = sl_fail(SL_EXIT_NOT_FOUND, "unknown group '%s'", group);
        goto done;
    }

    /* Partitions to show: committed ones and assigned ones. */
    parts = rd_kafka_topic_partition_list_new(16);
    for (int i = 0; committed && i < committed->cnt; i++)
        rd_kafka_topic_partition_list_add(parts, committed->elems[i].topic,
                                          committed->elems[i].partition);
    for (size_t i = 0; i < nmembers; i++) {
        const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(d, i);
        const rd_kafka_MemberAssignment_t *as = rd_kafka_MemberDescription_assignment(m);
        const rd_kafka_topic_partition_list_t *l =
            as ? rd_kafka_MemberAssignment_partitions(as) : NULL;
        for (int k = 0; l && k < l->cnt; k++)
            if (!rd_kafka_topic_partition_list_find(parts, l->elems[k].topic,
                                                    l->elems[k].partition))
                rd_kafka_topic_partition_list_add(parts, l->elems[k].topic, l->elems[k].partition);
    }
    qsort(parts->elems, (size_t)parts->cnt, sizeof(*parts->elems), cmp_tp);
    lo = rd_kafka_topic_partition_list_copy(parts);
    hi = rd_kafka_topic_partition_list_copy(parts);
    if ((rc = sl_offsets_at(&c, lo, SL_TIME_EARLIEST, false)) ||
        (rc = sl_offsets_at(&c, hi, SL_TIME_LATEST, false)))
        goto done;

    const rd_kafka_Node_t *coord = rd_kafka_ConsumerGroupDescription_coordinator(d);
    const char *assignor = rd_kafka_ConsumerGroupDescription_partition_assignor(d);
    int64_t total_lag = 0;
    sl_json j;
    sl_table *mt = NULL, *ot = NULL;
    if (cli->json) {
        sl_json_init(&j, stdout);
        sl_json_obj(&j);
        sl_json_kstr(&j, "group", group);
        sl_json_kstr(&j, "state", state_name(state));
        sl_json_kstr(&j, "assignor", assignor && *assignor ? assignor : NULL);
        sl_json_key(&j, "coordinator");
        if (coord) {
            sl_json_obj(&j);
            sl_json_kint(&j, "id", rd_kafka_Node_id(coord));
            sl_json_kstr(&j, "host", rd_kafka_Node_host(coord));
            sl_json_kint(&j, "port", rd_kafka_Node_port(coord));
            sl_json_obj_end(&j);
        } else {
            sl_json_null(&j);
        }
        sl_json_key(&j, "members");
        sl_json_arr(&j);
    } else {
        printf("group %s: state %s, %zu member%s", group, state_name(state), nmembers,
               nmembers == 1 ? "" : "s");
        if (assignor && *assignor) printf(", assignor %s", assignor);
        if (coord)
            printf(", coordinator %d (%s:%u)", rd_kafka_Node_id(coord), rd_kafka_Node_host(coord),
                   (unsigned)rd_kafka_Node_port(coord));
        printf("\n\n");
        mt = sl_table_new(4, "MEMBER", "CLIENT-ID", "HOST", "ASSIGNMENT");
    }
    for (size_t i = 0; i < nmembers; i++) {
        const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(d, i);
        const rd_kafka_MemberAssignment_t *as = rd_kafka_MemberDescription_assignment(m);
        const rd_kafka_topic_partition_list_t *l =
            as ? rd_kafka_MemberAssignment_partitions(as) : NULL;
        if (cli->json) {
            sl_json_obj(&j);
            sl_json_kstr(&j, "member_id", rd_kafka_MemberDescription_consumer_id(m));
            sl_json_kstr(&j, "client_id", rd_kafka_MemberDescription_client_id(m));
            sl_json_kstr(&j, "host", rd_kafka_MemberDescription_host(m));
            sl_json_kstr(&j, "group_instance_id", rd_kafka_MemberDescription_group_instance_id(m));
            sl_json_key(&j, "assignment");
            sl_json_arr(&j);
            for (int k = 0; l && k < l->cnt; k++) {
                sl_json_obj(&j);
                sl_json_kstr(&j, "topic", l->elems[k].topic);
                sl_json_kint(&j, "partition", l->elems[k].partition);
                sl_json_obj_end(&j);
            }
            sl_json_arr_end(&j);
            sl_json_obj_end(&j);
        } else {
            char *as_text = assignment_text(l);
            sl_table_add(mt, "%s", rd_kafka_MemberDescription_consumer_id(m));
            sl_table_add(mt, "%s", rd_kafka_MemberDescription_client_id(m));
            sl_table_add(mt, "%s", rd_kafka_MemberDescription_host(m));
            sl_table_add(mt, "%s", as_text);
            sl_free(as_text);
        }
    }
    if (cli->json) {
        sl_json_arr_end(&j);
        sl_json_key(&j, "offsets");
        sl_json_arr(&j);
    } else {
        sl_table_end_row(mt);
        if (nmembers)
            sl_table_print(mt, stdout);
        else
            printf("no active members\n");
        printf("\n");
        ot = sl_table_new(6, "TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG", "MEMBER");
    }
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        const rd_kafka_topic_partition_t *cp =
            committed ? rd_kafka_topic_partition_list_find(committed, p->topic, p->partition)
                      : NULL;
        int64_t cur = cp && !cp->err && cp->offset >= 0 ? cp->offset : -1;
        int64_t end = hi->elems[i].err ? -1 : hi->elems[i].offset;
        int64_t start = lo->elems[i].err ? -1 : lo->elems[i].offset;
        int64_t lag = cur >= 0 && end >= 0 ? (end > cur ? end - cur : 0) : -1;
        if (lag > 0) total_lag += lag;
        const char *owner = owner_of(d, p->topic, p->partition);
        if (cli->json) {
            sl_json_obj(&j);
            sl_json_kstr(&j, "topic", p->topic);
            sl_json_kint(&j, "partition", p->partition);
            sl_json_key(&j, "committed");
            cur >= 0 ? sl_json_int(&j, cur) : sl_json_null(&j);
            sl_json_key(&j, "log_start_offset");
            start >= 0 ? sl_json_int(&j, start) : sl_json_null(&j);
            sl_json_key(&j, "log_end_offset");
            end >= 0 ? sl_json_int(&j, end) : sl_json_null(&j);
            sl_json_key(&j, "lag");
            lag >= 0 ? sl_json_int(&j, lag) : sl_json_null(&j);
            sl_json_kstr(&j, "member_id", owner);
            sl_json_obj_end(&j);
        } else {
            sl_table_add(ot, "%s", p->topic);
            sl_table_add(ot, "%" PRId32, p->partition);
            cur >= 0 ? sl_table_add(ot, "%" PRId64, cur) : sl_table_add(ot, "-");
            end >= 0 ? sl_table_add(ot, "%" PRId64, end) : sl_table_add(ot, "-");
            lag >= 0 ? sl_table_add(ot, "%" PRId64, lag) : sl_table_add(ot, "-");
            sl_table_add(ot, "%s", owner ? owner : "-");
        }
    }
    if (cli->json) {
        sl_json_arr_end(&j);
        sl_json_kint(&j, "total_lag", total_lag);
        sl_json_obj_end(&j);
        sl_json_end_line(&j);
    } else {
        sl_table_end_row(ot);
        if (parts->cnt)
            sl_table_print(ot, stdout);
        else
            printf("no committed offsets\n");
        printf("\ntotal lag: %" PRId64 "\n", total_lag);
    }
    sl_table_free(mt);
    sl_table_free(ot);
done:
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    if (lo) rd_kafka_topic_partition_list_destroy(lo);
    if (hi) rd_kafka_topic_partition_list_destroy(hi);
    if (oev) rd_kafka_event_destroy(oev);
    if (dev) rd_kafka_event_destroy(dev);
    if (md) rd_kafka_metadata_destroy(md);
    sl_client_close(&c);
out:
    sl_args_free(&a);
    return rc;
}

/* ---- reset-offsets --------------------------------------------------------- */

enum {
    O_TOPIC = 1,
    O_EARLIEST,
    O_LATEST,
    O_TO_OFFSET,
    O_DATETIME,
    O_SHIFT,
    O_EXECUTE,
};

/* Adds the partitions named by "T" or "T:0,1,2" (checked against the
 * metadata) to `l`. Returns 0 or an exit code. */
static int add_topic_spec(const sl_cli *cli, const rd_kafka_metadata_t *md, const char *spec,
                          rd_kafka_topic_partition_list_t *l)
{
    char name[256];
    const char *colon = strrchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n == 0 || n >= sizeof(name)) return sl_usage(cli, "bad --topic '%s'", spec);
    memcpy(name, spec, n);
    name[n] = 0;
    int rc;
    const rd_kafka_metadata_topic_t *t = sl_metadata_topic(md, name, &rc);
    if (!t) return rc;
    if (!colon) {
        for (int i = 0; i < t->partition_cnt; i++)
            if (!rd_kafka_topic_partition_list_find(l, name, t->partitions[i].id))
                rd_kafka_topic_partition_list_add(l, name, t->partitions[i].id);
        return 0;
    }
    char *list = sl_strdup(colon + 1), *save = NULL;
    rc = 0;
    int count = 0;
    for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save), count++) {
        int32_t part;
        if (sl_parse_i32(p, 0, INT32_MAX, &part) != 0) {
            rc = sl_usage(cli, "bad partition '%s' in --topic '%s'", p, spec);
            break;
        }
        bool exists = false;
        for (int i = 0; i < t->partition_cnt; i++)
            if (t->partitions[i].id == part) exists = true;
        if (!exists) {
            rc = sl_fail(SL_EXIT_NOT_FOUND, "topic '%s' has no partition %" PRId32 " (it has %d)",
                         name, part, t->partition_cnt);
            break;
        }
        if (!rd_kafka_topic_partition_list_find(l, name, part))
            rd_kafka_topic_partition_list_add(l, name, part);
    }
    if (!rc && count == 0) rc = sl_usage(cli, "no partitions in --topic '%s'", spec);
    sl_free(list);
    return rc;
}

static int group_reset_offsets(sl_cli *cli, int argc, char **argv)
{
    static const sl_opt opts[] = {
        {"topic", 't', true, O_TOPIC},        {"to-earliest", 0, false, O_EARLIEST},
        {"to-latest", 0, false, O_LATEST},    {"to-offset", 0, true, O_TO_OFFSET},
        {"to-datetime", 0, true, O_DATETIME}, {"shift-by", 0, true, O_SHIFT},
        {"execute", 0, false, O_EXECUTE},     {NULL, 0, false, 0},
    };
    sl_args a;
    int mode = 0;
    int64_t arg = 0;
    bool execute = false;
    int ntopics = 0;
    int rc;
    if (!sl_args_begin(cli, opts, argc, argv, reset_help, 1, 1, "GROUP", &a, &rc)) goto out;
    for (int i = 0; i < a.nopts; i++) {
        int id = a.opts[i].id;
        const char *v = a.opts[i].arg;
        if (id == O_TOPIC) {
            ntopics++;
            continue;
        }
        if (id == O_EXECUTE) {
            execute = true;
            continue;
        }
        if (mode && mode != id) {
            rc = sl_usage(cli, "give exactly one of --to-earliest, --to-latest, --to-offset, "
                               "--to-datetime, --shift-by");
            goto out;
        }
        mode = id;
        if (id == O_TO_OFFSET && (sl_parse_i64(v, &arg) != 0 || arg < 0)) {
            rc = sl_usage(cli, "bad --to-offset '%s' (0 or more)", v);
            goto out;
        }
        if (id == O_SHIFT && sl_parse_i64(v, &arg) != 0) {
            rc = sl_usage(cli, "bad --shift-by '%s' (a whole number, may be negative)", v);
            goto out;
        }
        if (id == O_DATETIME && sl_parse_iso8601(v, &arg) != 0) {
            rc = sl_usage(cli, "bad --to-datetime '%s' (ISO-8601, e.g. 2026-11-23T10:00:00Z)", v);
            goto out;
        }
    }
    if (!mode) {
        rc = sl_usage(cli, "missing the target: --to-earliest, --to-latest, --to-offset N, "
                           "--to-datetime ISO or --shift-by N");
        goto out;
    }
    if (ntopics == 0) {
        rc = sl_usage(cli, "missing --topic T[:P,...]");
        goto out;
    }
    const char *group = a.pos[0];

    sl_client c;
    if ((rc = sl_admin_client_open(&c, cli))) goto out;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_event_t *dev = NULL, *oev = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL, *lo = NULL, *hi = NULL, *target = NULL;
    const rd_kafka_ConsumerGroupDescription_t *d = NULL;
    const rd_kafka_topic_partition_list_t *committed = NULL;
    if ((rc = sl_client_metadata(&c, NULL, &md))) goto done;
    parts = rd_kafka_topic_partition_list_new(16);
    for (int i = 0; i < a.nopts; i++)
        if (a.opts[i].id == O_TOPIC && (rc = add_topic_spec(cli, md, a.opts[i].arg, parts)))
            goto done;
    qsort(parts->elems, (size_t)parts->cnt, sizeof(*parts->elems), cmp_tp);
    if ((rc = describe_group(&c, group, &dev, &d))) goto done;
    rd_kafka_consumer_group_state_t state = rd_kafka_ConsumerGroupDescription_state(d);
    size_t nmembers = rd_kafka_ConsumerGroupDescription_member_count(d);
    bool active = group_active(d);
    if (active && execute) {
        rc = sl_fail(SL_EXIT_REFUSED,
                     "refusing to reset offsets of group '%s': it is active (state %s, %zu "
                     "member%s), and its members would overwrite the new offsets with their "
                     "next commit. Stop the group's consumers, or wait until the group is "
                     "Empty, then run this again.",
                     group, state_name(state), nmembers, nmembers == 1 ? "" : "s");
        goto done;
    }
    if ((rc = committed_offsets(&c, group, parts, &oev, &committed))) goto done;
    lo = rd_kafka_topic_partition_list_copy(parts);
    hi = rd_kafka_topic_partition_list_copy(parts);
    if ((rc = sl_offsets_at(&c, lo, SL_TIME_EARLIEST, true)) ||
        (rc = sl_offsets_at(&c, hi, SL_TIME_LATEST, true)))
        goto done;
    target = rd_kafka_topic_partition_list_copy(parts);
    if (mode == O_DATETIME && (rc = sl_offsets_at(&c, target, arg, true))) goto done;

    int64_t *current = sl_calloc((size_t)parts->cnt + 1, sizeof(int64_t));
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        const rd_kafka_topic_partition_t *cp =
            committed ? rd_kafka_topic_partition_list_find(committed, p->topic, p->partition)
                      : NULL;
        current[i] = cp && !cp->err && cp->offset >= 0 ? cp->offset : -1;
        int64_t start = lo->elems[i].offset, end = hi->elems[i].offset, want = 0;
        switch (mode) {
        case O_EARLIEST:
            want = start;
            break;
        case O_LATEST:
            want = end;
            break;
        case O_TO_OFFSET:
            want = arg;
            break;
        case O_DATETIME:
            want = target->elems[i].offset < 0 ? end : target->elems[i].offset;
            break;
        case O_SHIFT:
            if (current[i] < 0) {
                rc = sl_fail(SL_EXIT_FAILED,
                             "group '%s' has no committed offset for %s[%" PRId32
                             "] to shift from; use --to-offset, --to-earliest or --to-latest",
                             group, p->topic, p->partition);
                break;
            }
            want = current[i] + arg;
            break;
        }
        if (rc) break;
        if (want < start) want = start;
        if (want > end) want = end;
        target->elems[i].offset = want;
        target->elems[i].err = 0;
    }
    if (rc) {
        sl_free(current);
        goto done;
    }

    if (execute) {
        sl_admin ad;
        sl_admin_begin(&c, &ad, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
        rd_kafka_AlterConsumerGroupOffsets_t *req =
            rd_kafka_AlterConsumerGroupOffsets_new(group, target);
        rd_kafka_AlterConsumerGroupOffsets(c.rk, &req, 1, ad.o, ad.q);
        rd_kafka_event_t *ev = sl_admin_end(&c, &ad, "reset offsets", &rc);
        if (ev) {
            size_t n;
            const rd_kafka_group_result_t **gr = rd_kafka_AlterConsumerGroupOffsets_result_groups(
                rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
            const rd_kafka_error_t *e = n ? rd_kafka_group_result_error(gr[0]) : NULL;
            if (e) rc = group_error(group, e, "resetting offsets");
            const rd_kafka_topic_partition_list_t *pl =
                n ? rd_kafka_group_result_partitions(gr[0]) : NULL;
            for (int i = 0; !rc && pl && i < pl->cnt; i++) {
                const rd_kafka_topic_partition_t *p = &pl->elems[i];
                if (!p->err) continue;
                if (p->err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
                    p->err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                    p->err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
                    rc = sl_fail(SL_EXIT_REFUSED,
                                 "group '%s' became active while resetting (%s): stop its "
                                 "consumers and run this again",
                                 group, rd_kafka_err2str(p->err));
                else
                    rc = sl_fail(sl_exit_for(p->err), "resetting %s[%" PRId32 "] failed: %s",
                                 p->topic, p->partition, rd_kafka_err2str(p->err));
            }
            rd_kafka_event_destroy(ev);
        }
        rd_kafka_AlterConsumerGroupOffsets_destroy(req);
    }

    if (cli->json) {
        sl_json j;
        sl_json_init(&j, stdout);
        sl_json_obj(&j);
        sl_json_kstr(&j, "group", group);
        sl_json_kbool(&j, "executed", execute && rc == 0);
        sl_json_kstr(&j, "state", state_name(state));
        sl_json_key(&j, "plan");
        sl_json_arr(&j);
        for (int i = 0; i < parts->cnt; i++) {
            sl_json_obj(&j);
            sl_json_kstr(&j, "topic", parts->elems[i].topic);
            sl_json_kint(&j, "partition", parts->elems[i].partition);
            sl_json_key(&j, "current");
            current[i] >= 0 ? sl_json_int(&j, current[i]) : sl_json_null(&j);
            sl_json_kint(&j, "new", target->elems[i].offset);
            sl_json_kint(&j, "log_start_offset", lo->elems[i].offset);
            sl_json_kint(&j, "log_end_offset", hi->elems[i].offset);
            sl_json_obj_end(&j);
        }
        sl_json_arr_end(&j);
        sl_json_obj_end(&j);
        sl_json_end_line(&j);
    } else {
        sl_table *t =
            sl_table_new(6, "TOPIC", "PARTITION", "CURRENT", "NEW", "LOG-START", "LOG-END");
        for (int i = 0; i < parts->cnt; i++) {
            sl_table_add(t, "%s", parts->elems[i].topic);
            sl_table_add(t, "%" PRId32, parts->elems[i].partition);
            current[i] >= 0 ? sl_table_add(t, "%" PRId64, current[i]) : sl_table_add(t, "-");
            sl_table_add(t, "%" PRId64, target->elems[i].offset);
            sl_table_add(t, "%" PRId64, lo->elems[i].offset);
            sl_table_add(t, "%" PRId64, hi->elems[i].offset);
        }
        sl_table_end_row(t);
        sl_table_print(t, stdout);
        sl_table_free(t);
        if (!execute) {
            printf("\ndry run: nothing changed; add --execute to apply\n");
            if (active)
                printf("note: group '%s' is active (state %s, %zu member%s): --execute will be "
                       "refused until its consumers stop\n",
                       group, state_name(state), nmembers, nmembers == 1 ? "" : "s");
        } else if (rc == 0) {
            printf("\noffsets of group '%s' reset\n", group);
        }
    }
    sl_free(current);
done:
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    if (lo) rd_kafka_topic_partition_list_destroy(lo);
    if (hi) rd_kafka_topic_partition_list_destroy(hi);
    if (target) rd_kafka_topic_partition_list_destroy(target);
    if (oev) rd_kafka_event_destroy(oev);
    if (dev) rd_kafka_event_destroy(dev);
    if (md) rd_kafka_metadata_destroy(md);
    sl_client_close(&c);
out:
    sl_args_free(&a);
    return rc;
}

/* ---- delete ---------------------------------------------------------------- */

static int group_delete(sl_cli *cli, int argc, char **argv)
{
    sl_args a;
    int rc;
    if (!sl_args_begin(cli, NULL, argc, argv, delete_help, 1, 1, "GROUP", &a, &rc)) goto out;
    const char *group = a.pos[0];
    sl_client c;
    if ((rc = sl_admin_client_open(&c, cli))) goto out;
    const rd_kafka_metadata_t *md = NULL;
    if ((rc = sl_client_metadata(&c, NULL, &md))) goto done;
    rd_kafka_DeleteGroup_t *dg = rd_kafka_DeleteGroup_new(group);
    sl_admin ad;
    sl_admin_begin(&c, &ad, RD_KAFKA_ADMIN_OP_DELETEGROUPS);
    rd_kafka_DeleteGroups(c.rk, &dg, 1, ad.o, ad.q);
    rd_kafka_event_t *ev = sl_admin_end(&c, &ad, "delete group", &rc);
    if (ev) {
        size_t n;
        const rd_kafka_group_result_t **gr =
            rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
        const rd_kafka_error_t *e = n ? rd_kafka_group_result_error(gr[0]) : NULL;
        if (e) rc = group_error(group, e, "deleting");
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_DeleteGroup_destroy(dg);
    if (rc == 0) {
        if (cli->json)
            sl_json_print_flag("group", group, "deleted");
        else
            printf("deleted group %s\n", group);
    }
done:
    if (md) rd_kafka_metadata_destroy(md);
    sl_client_close(&c);
out:
    sl_args_free(&a);
    return rc;
}

int sl_cmd_group(sl_cli *cli, int argc, char **argv)
{
    static const sl_subcmd subs[] = {
        {"list", group_list},
        {"describe", group_describe},
        {"reset-offsets", group_reset_offsets},
        {"delete", group_delete},
        {NULL, NULL},
    };
    return sl_dispatch(cli, "group", group_help, subs, argc, argv);
}

/* sluice produce TOPIC: one message per input line. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cli.h"

static const char produce_help[] =
    "Usage: sluice produce TOPIC [OPTIONS] [< LINES]\n"
    "\n"
    "Sends one message per line of standard input (or --file); the newline is not\n"
    "part of the message. Waits until every message is acknowledged, then reports\n"
    "\"delivered N, failed M\". Exits 1 if any message failed.\n"
    "\n"
    "  -f, --file PATH          read lines from PATH instead of standard input\n"
    "  -K, --key-sep SEP        split each line at the first SEP into key and value;\n"
    "                           a line without SEP is sent whole as the value, with no key\n"
    "  -H, --header KEY=VALUE   add this header to every message (repeatable)\n"
    "  -p, --partition N        send everything to partition N (default: by key hash,\n"
    "                           or spread when there is no key)\n"
    "  -a, --acks 0|1|all       acknowledgements to wait for (default all)\n"
    "  -z, --compression none|gzip|snappy|lz4|zstd   (default none)\n"
    "\n"
    "A progress line with messages/s is drawn on stderr when it is a terminal.\n"
    "JSON: {\"topic\":..,\"delivered\":N,\"failed\":N,\"error\":\"first error\"|null}\n";

enum { O_FILE = 1, O_KEYSEP, O_HEADER, O_PARTITION, O_ACKS, O_COMPRESSION };

typedef struct produce_state {
    int64_t delivered, failed;
    char first_error[256];
} produce_state;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    sl_client *c = opaque;
    produce_state *st = c->cmd_state;
    if (!m->err) {
        st->delivered++;
        return;
    }
    st->failed++;
    if (!st->first_error[0])
        snprintf(st->first_error, sizeof(st->first_error), "%s", rd_kafka_err2str(m->err));
}

static void note_failure(produce_state *st, rd_kafka_resp_err_t err)
{
    st->failed++;
    if (!st->first_error[0])
        snprintf(st->first_error, sizeof(st->first_error), "%s", rd_kafka_err2str(err));
}

int sl_cmd_produce(sl_cli *cli, int argc, char **argv)
{
    static const sl_opt opts[] = {
        {"file", 'f', true, O_FILE},
        {"key-sep", 'K', true, O_KEYSEP},
        {"header", 'H', true, O_HEADER},
        {"partition", 'p', true, O_PARTITION},
        {"acks", 'a', true, O_ACKS},
        {"compression", 'z', true, O_COMPRESSION},
        {NULL, 0, false, 0},
    };
    sl_args a;
    const char *file = NULL, *key_sep = NULL, *acks = "all", *codec = "none";
    int32_t partition = RD_KAFKA_PARTITION_UA;
    rd_kafka_headers_t *headers = NULL;
    FILE *in = NULL;
    int rc;
    if (!sl_args_begin(cli, opts, argc, argv, produce_help, 1, 1, "TOPIC", &a, &rc)) goto out;
    const char *topic = a.pos[0];
    for (int i = 0; i < a.nopts; i++) {
        const char *v = a.opts[i].arg;
        switch (a.opts[i].id) {
        case O_FILE:
            file = v;
            break;
        case O_KEYSEP:
            if (!*v) {
                rc = sl_usage(cli, "--key-sep must not be empty");
                goto out;
            }
            key_sep = v;
            break;
        case O_HEADER: {
            char key[256];
            const char *hv;
            if (sl_split_kv(v, key, sizeof(key), &hv) != 0) {
                rc = sl_usage(cli, "--header expects KEY=VALUE, got '%s'", v);
                goto out;
            }
            if (!headers) headers = rd_kafka_headers_new(4);
            rd_kafka_header_add(headers, key, -1, hv, -1);
            break;
        }
        case O_PARTITION:
            if (sl_parse_i32(v, 0, INT32_MAX, &partition) != 0) {
                rc = sl_usage(cli, "bad partition '%s'", v);
                goto out;
            }
            break;
        case O_ACKS:
            if (strcmp(v, "0") && strcmp(v, "1") && strcmp(v, "all") && strcmp(v, "-1")) {
                rc = sl_usage(cli, "--acks must be 0, 1 or all, got '%s'", v);
                goto out;
            }
            acks = v;
            break;
        case O_COMPRESSION:
            if (strcmp(v, "none") && strcmp(v, "gzip") && strcmp(v, "snappy") && strcmp(v, "lz4") &&
                strcmp(v, "zstd")) {
                rc = sl_usage(cli, "--compression must be none, gzip, snappy, lz4 or zstd");
                goto out;
            }
            codec = v;
            break;
        }
    }
    if (file && strcmp(file, "-") != 0) {
        in = fopen(file, "rb");
        if (!in) {
            rc = sl_fail(SL_EXIT_USAGE, "cannot open '%s': %s", file, strerror(errno));
            goto out;
        }
    }

    produce_state st;
    memset(&st, 0, sizeof(st));
    const char *defaults[] = {"acks", strcmp(acks, "all") == 0 ? "-1" : acks, "compression.codec",
                              codec, NULL};
    sl_client c;
    rd_kafka_conf_t *conf = sl_client_conf(&c, cli, defaults);
    if (!conf) {
        rc = SL_EXIT_USAGE;
        goto out;
    }
    c.cmd_state = &st;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    if ((rc = sl_client_start(&c, RD_KAFKA_PRODUCER, conf))) goto out;

    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = NULL;
    char *line = NULL;
    size_t cap = 0;
    if ((rc = sl_client_metadata(&c, topic, &md))) goto done;
    const rd_kafka_metadata_topic_t *t = sl_metadata_topic(md, topic, &rc);
    if (!t) goto done;
    if (partition >= 0 && t->partition_cnt > 0 && partition >= t->partition_cnt) {
        rc = sl_fail(SL_EXIT_NOT_FOUND, "topic '%s' has no partition %" PRId32 " (it has %d)",
                     topic, partition, t->partition_cnt);
        goto done;
    }
    rkt = rd_kafka_topic_new(c.rk, topic, NULL);

    sl_progress prog;
    sl_progress_init(&prog, "produced");
    size_t sep_len = key_sep ? strlen(key_sep) : 0;
    int64_t sent = 0;
    ssize_t n;
    FILE *src = in ? in : stdin;
    while ((n = getline(&line, &cap, src)) >= 0) {
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n') len--;
        const char *key = NULL, *val = line;
        size_t key_len = 0, val_len = len;
        if (key_sep) {
            const char *s = memmem(line, len, key_sep, sep_len);
            if (s) {
                key = line;
                key_len = (size_t)(s - line);
                val = s + sep_len;
                val_len = len - key_len - sep_len;
            }
        }
        for (;;) {
            rd_kafka_headers_t *h = headers ? rd_kafka_headers_copy(headers) : NULL;
            rd_kafka_resp_err_t err = rd_kafka_producev(
                c.rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)val, val_len),
                RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
            if (!err) break;
            if (h) rd_kafka_headers_destroy(h); /* only taken on success */
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(c.rk, 50); /* wait for deliveries to make room */
                continue;
            }
            note_failure(&st, err);
            break;
        }
        sent++;
        rd_kafka_poll(c.rk, 0);
        sl_progress_update(&prog, sent);
    }
    if (ferror(src)) {
        sl_progress_done(&prog);
        rc = sl_fail(SL_EXIT_FAILED, "reading %s failed: %s", in ? file : "standard input",
                     strerror(errno));
    }
    /* Every message ends with a delivery report, success or failure (at
     * the latest after message.timeout.ms), so this loop ends. */
    while (rd_kafka_outq_len(c.rk) > 0) {
        rd_kafka_flush(c.rk, 200);
        sl_progress_update(&prog, sent);
    }
    rd_kafka_poll(c.rk, 0);
    sl_progress_done(&prog);
    if (cli->json) {
        sl_json j;
        sl_json_init(&j, stdout);
        sl_json_obj(&j);
        sl_json_kstr(&j, "topic", topic);
        sl_json_kint(&j, "delivered", st.delivered);
        sl_json_kint(&j, "failed", st.failed);
        sl_json_kstr(&j, "error", st.first_error[0] ? st.first_error : NULL);
        sl_json_obj_end(&j);
        sl_json_end_line(&j);
    } else {
        printf("delivered %" PRId64 ", failed %" PRId64 "\n", st.delivered, st.failed);
    }
    if (st.failed) {
        fprintf(stderr, "sluice: %" PRId64 " message%s not delivered to '%s': %s\n", st.failed,
                st.failed == 1 ? " was" : "s were", topic, st.first_error);
        if (!rc) rc = SL_EXIT_FAILED;
    }
done:
    free(line);
    if (rkt) rd_kafka_topic_destroy(rkt);
    if (md) rd_kafka_metadata_destroy(md);
    sl_client_close(&c);
out:
    if (in) fclose(in);
    if (headers) rd_kafka_headers_destroy(headers);
    sl_args_free(&a);
    return rc;
}

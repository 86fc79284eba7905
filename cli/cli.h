/* sluice: the command-line tool. Shared declarations of the command files.
 *
 * The tool is a Kafka client built on librdkafka; it never speaks the wire
 * protocol itself except for one raw ApiVersions v0 request (apiversions.c),
 * because librdkafka keeps the broker's answer to that private.
 *
 * Layout:
 *   main.c        dispatch on the command word, global flags, top-level help
 *   common.c      option parsing, client setup (-X properties), reachability
 *                 check, error-to-exit-code mapping, offset/time parsing
 *   output.c      tables, JSON writer, progress line
 *   topic.c       topic list|create|describe|alter-config|add-partitions|delete
 *   produce.c     produce
 *   consume.c     consume
 *   group.c       group list|describe|reset-offsets|delete
 *   cluster.c     cluster info
 *   apiversions.c the raw ApiVersions v0 exchange used by cluster info
 *
 * Everything runs on the main thread; librdkafka's callbacks are served
 * from rd_kafka_poll/consumer_poll/queue_poll on that thread too, so command
 * state needs no locking. No global mutable state: the sl_cli context is
 * passed down.
 */
#ifndef SL_CLI_H
#define SL_CLI_H

#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (documented in every --help by sl_help_footer). */
enum {
    SL_EXIT_OK = 0,
    SL_EXIT_FAILED = 1,      /* the operation failed (or some messages did) */
    SL_EXIT_USAGE = 2,       /* bad command line */
    SL_EXIT_UNREACHABLE = 3, /* no broker answered within --timeout */
    SL_EXIT_NOT_FOUND = 4,   /* unknown topic, partition or group */
    SL_EXIT_REFUSED = 5,     /* refused as unsafe: the group has active members */
};

#define SL_DEFAULT_BOOTSTRAP  "127.0.0.1:9092"
#define SL_DEFAULT_TIMEOUT_MS 5000

/* The invocation: global flags, shared by every command. */
typedef struct sl_cli {
    const char *bootstrap; /* --bootstrap, $SLUICE_BOOTSTRAP or the default */
    int timeout_ms;        /* --timeout: wait for a broker answer this long */
    bool json;             /* --json */
    bool verbose;          /* -v: librdkafka's log lines on stderr */
    const char **props;    /* -X key=value, in command-line order */
    int nprops;
    char cmd[64]; /* "group reset-offsets": prefixes usage errors */
} sl_cli;

/* ---- command-line options -------------------------------------------------
 * Every command parses its own options with sl_args_parse. The global flags
 * (--bootstrap, -X, --timeout, --json, -v, --help) are accepted anywhere
 * and stored in the sl_cli; everything else must be in the command's table. */
typedef struct sl_opt {
    const char *name; /* long name without "--", or NULL */
    char short_name;  /* 0 if none */
    bool has_arg;
    int id;
} sl_opt;

typedef struct sl_optval {
    int id;
    const char *arg; /* NULL for flags */
} sl_optval;

typedef struct sl_args {
    sl_optval *opts; /* in command-line order, repeats kept */
    int nopts;
    char **pos; /* positional arguments */
    int npos;
    bool help;
} sl_args;

/* Parses argv[0..argc) (not including the command words). With
 * `stop_at_positional` the first positional and everything after it are
 * left unparsed in pos[] (used to find a subcommand). Returns 0 or
 * SL_EXIT_USAGE after printing the reason. */
int sl_args_parse(sl_cli *cli, const sl_opt *opts, int argc, char **argv, bool stop_at_positional,
                  sl_args *out);
void sl_args_free(sl_args *a);

/* The start of every command: parses, answers --help, and checks the
 * positional count (min_pos..max_pos, max_pos -1 for any; `missing` names
 * what is missing). Returns true to go on (*rc = 0), false with the exit
 * code in *rc; the caller frees `a` either way. */
bool sl_args_begin(sl_cli *cli, const sl_opt *opts, int argc, char **argv, const char *help,
                   int min_pos, int max_pos, const char *missing, sl_args *a, int *rc);

/* Prints "sluice CMD: <message>" and a hint to --help; returns SL_EXIT_USAGE. */
int sl_usage(const sl_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "sluice: <message>" on stderr; returns `code`. */
int sl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a command's help text followed by the global options and exit
 * codes; returns SL_EXIT_OK. */
int sl_help(const char *text);
void sl_cli_set_cmd(sl_cli *cli, const char *cmd);

/* Strict number parsing: the whole string, in range. Return 0 or -1. */
int sl_parse_i64(const char *s, int64_t *out);
int sl_parse_i32(const char *s, int32_t min, int32_t max, int32_t *out);
/* ISO-8601 date-time to Unix milliseconds: 2026-11-23T10:00:00Z,
 * 2026-11-23T10:00:00.250+02:00, 2026-11-23 10:00:00 (UTC when no zone is
 * given), or a date alone (midnight UTC). Returns 0 or -1. */
int sl_parse_iso8601(const char *s, int64_t *out_ms);
/* Unix milliseconds as 2026-11-23T10:00:00.250Z. */
void sl_format_iso8601(int64_t ms, char *buf, size_t n);
/* Splits "key=value" at the first '='. Returns -1 if there is none or the key is empty. */
int sl_split_kv(const char *s, char *key, size_t key_n, const char **value);

/* ---- librdkafka clients -------------------------------------------------- */
typedef struct sl_client {
    const sl_cli *cli;
    rd_kafka_t *rk;
    char last_error[512]; /* last transport/resolve error from the error callback */
    bool brokers_down;    /* librdkafka said every broker connection is down */
    void *cmd_state;      /* the command's own state, for its callbacks */
} sl_client;

/* Makes a configuration: bootstrap.servers, quiet logging, the command's
 * `defaults` (NULL-terminated key, value pairs), then every -X property.
 * Returns NULL after printing the reason (a bad -X property). The caller
 * may add callbacks and then calls sl_client_start, which takes the conf. */
rd_kafka_conf_t *sl_client_conf(sl_client *c, const sl_cli *cli, const char *const *defaults);
/* Returns 0 or an exit code after printing the reason. */
int sl_client_start(sl_client *c, rd_kafka_type_t type, rd_kafka_conf_t *conf);
/* Destroys the client and waits for librdkafka's threads to finish. */
void sl_client_close(sl_client *c);

/* Fetches metadata (all topics, or one topic without creating it), within
 * --timeout. A failure says which address was tried and why, and returns
 * SL_EXIT_UNREACHABLE; *md must be freed with rd_kafka_metadata_destroy. */
int sl_client_metadata(sl_client *c, const char *topic, const rd_kafka_metadata_t **md);
/* The topic in `md`, or NULL with an "unknown topic" message (and *code set
 * to SL_EXIT_NOT_FOUND, or SL_EXIT_FAILED for another topic error). */
const rd_kafka_metadata_topic_t *sl_metadata_topic(const rd_kafka_metadata_t *md, const char *topic,
                                                   int *code);

/* Exit code for a librdkafka error. */
int sl_exit_for(rd_kafka_resp_err_t err);

/* A consumer-type client for admin work: it never auto-creates topics on
 * metadata requests and reads offsets without transactional filtering.
 * Returns 0 or an exit code. */
int sl_admin_client_open(sl_client *c, const sl_cli *cli);

/* One admin request: sl_admin_begin makes the result queue and the options
 * (carrying --timeout) for the caller's rd_kafka_<Op>(c->rk, ..., a.o, a.q);
 * sl_admin_end waits for the result and frees both. It returns the event
 * (the caller destroys it) or NULL after printing why (*code set). */
typedef struct sl_admin {
    rd_kafka_queue_t *q;
    rd_kafka_AdminOptions_t *o;
} sl_admin;
void sl_admin_begin(sl_client *c, sl_admin *a, rd_kafka_admin_op_t op);
rd_kafka_event_t *sl_admin_end(sl_client *c, sl_admin *a, const char *what, int *code);

/* Offsets by time for every partition in `parts`: each entry's offset is
 * set to the first offset whose timestamp is >= ts, or with the special
 * times SL_TIME_EARLIEST / SL_TIME_LATEST to the log start / log end; an
 * offset of -1 means no message is that recent. With `strict` a partition's
 * error fails the call; otherwise it is left in the entry's err.
 * Returns 0 or an exit code after printing the reason. */
#define SL_TIME_LATEST   (-1)
#define SL_TIME_EARLIEST (-2)
int sl_offsets_at(sl_client *c, rd_kafka_topic_partition_list_t *parts, int64_t ts, bool strict);

/* ---- output -------------------------------------------------------------- */

/* A text table: columns padded to their widest cell, two spaces apart. */
typedef struct sl_table sl_table;
sl_table *sl_table_new(int ncols, ...); /* ncols header strings */
void sl_table_add(sl_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends the current row (cells beyond the header count are an error). */
void sl_table_end_row(sl_table *t);
void sl_table_print(const sl_table *t, FILE *f);
void sl_table_free(sl_table *t);
size_t sl_table_rows(const sl_table *t);

/* A streaming JSON writer: commas and escaping are its business. Strings
 * are written as UTF-8; bytes that are not valid UTF-8 are written as the
 * code point of the same value (\u00XX), so any payload gives valid JSON. */
typedef struct sl_json {
    FILE *f;
    int depth;
    bool need_comma[32];
    bool after_key;
} sl_json;
void sl_json_init(sl_json *j, FILE *f);
void sl_json_obj(sl_json *j);
void sl_json_obj_end(sl_json *j);
void sl_json_arr(sl_json *j);
void sl_json_arr_end(sl_json *j);
void sl_json_key(sl_json *j, const char *key);
void sl_json_str(sl_json *j, const char *s); /* NULL writes null */
void sl_json_strn(sl_json *j, const void *p, size_t n);
void sl_json_bytes_or_null(sl_json *j, const void *p, size_t n); /* p NULL: null */
void sl_json_int(sl_json *j, int64_t v);
void sl_json_bool(sl_json *j, bool v);
void sl_json_null(sl_json *j);
/* Ends a top-level value with a newline. */
void sl_json_end_line(sl_json *j);
/* key + value shorthands */
void sl_json_kstr(sl_json *j, const char *key, const char *s);
void sl_json_kint(sl_json *j, const char *key, int64_t v);
void sl_json_kbool(sl_json *j, const char *key, bool v);
/* Prints {"<key>":"<name>","<flag>":true} as one line (delete results). */
void sl_json_print_flag(const char *key, const char *name, const char *flag);
/* Writes raw bytes JSON-escaped (no quotes) to f. */
void sl_json_escape(FILE *f, const void *p, size_t n);

/* A progress line on stderr ("  12345 msgs  6789 msgs/s"), redrawn at most
 * every 200 ms, only when stderr is a terminal. */
typedef struct sl_progress {
    bool enabled;
    const char *verb; /* "produced", "consumed" */
    int64_t start_ns, last_ns;
    int64_t last_count;
    double rate;
    bool drawn;
} sl_progress;
void sl_progress_init(sl_progress *p, const char *verb);
void sl_progress_update(sl_progress *p, int64_t count);
/* Erases the line. */
void sl_progress_done(sl_progress *p);
int64_t sl_now_ns(void);

/* ---- commands ------------------------------------------------------------ */
int sl_cmd_topic(sl_cli *cli, int argc, char **argv);
int sl_cmd_produce(sl_cli *cli, int argc, char **argv);
int sl_cmd_consume(sl_cli *cli, int argc, char **argv);
int sl_cmd_group(sl_cli *cli, int argc, char **argv);
int sl_cmd_cluster(sl_cli *cli, int argc, char **argv);

/* Subcommand dispatch shared by topic, group and cluster. */
typedef struct sl_subcmd {
    const char *name;
    int (*fn)(sl_cli *cli, int argc, char **argv);
} sl_subcmd;
int sl_dispatch(sl_cli *cli, const char *group, const char *help, const sl_subcmd *subs, int argc,
                char **argv);

/* Raw ApiVersions v0 (apiversions.c). */
typedef struct sl_api_range {
    int16_t key, min_version, max_version;
} sl_api_range;
/* Asks the broker at host:port for its API versions. Returns the number of
 * entries (into a malloc'ed *out) or -1 with the reason in err. */
int sl_api_versions_fetch(const char *host_port, int timeout_ms, sl_api_range **out, char *err,
                          size_t err_n);
/* The name of a Kafka API key ("Produce"), or NULL if unknown. */
const char *sl_api_key_name(int16_t key);

#endif

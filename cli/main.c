/* sluice: command-line client for sluiced and any Kafka-compatible broker.
 * main() reads the global flags, finds the command word and dispatches. */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cli.h"
#include "perf.h"

#ifndef SL_VERSION
#define SL_VERSION "0.1"
#endif

static const char main_help[] =
    "Usage: sluice [GLOBAL OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "A command-line client for sluiced and any Kafka-compatible broker.\n"
    "\n"
    "Commands:\n"
    "  topic list|create|describe|alter-config|add-partitions|delete   manage topics\n"
    "  produce TOPIC                 write messages, one per input line\n"
    "  consume TOPIC[,TOPIC...]      read messages\n"
    "  group list|describe|reset-offsets|delete                        consumer groups\n"
    "  cluster info                  brokers, controller, cluster id, API versions\n"
    "  perf produce|consume|latency  load generator: throughput, end-to-end latency\n"
    "  help [COMMAND [SUBCOMMAND]]   help on a command (same as COMMAND --help)\n"
    "  version                       print the version\n";

typedef struct command {
    const char *name;
    int (*fn)(sl_cli *cli, int argc, char **argv);
} command;

static const command commands[] = {
    {"topic", sl_cmd_topic}, {"produce", sl_cmd_produce}, {"consume", sl_cmd_consume},
    {"group", sl_cmd_group}, {"cluster", sl_cmd_cluster}, {NULL, NULL},
};

static const command *find_command(const char *name)
{
    for (const command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

static int run(sl_cli *cli, int argc, char **argv)
{
    sl_args a;
    int rc = sl_args_parse(cli, NULL, argc, argv, true, &a);
    if (rc) goto out;
    if (a.npos == 0) {
        if (a.help) {
            rc = sl_help(main_help);
        } else {
            fputs(main_help, stderr);
            rc = SL_EXIT_USAGE;
        }
        goto out;
    }
    const char *name = a.pos[0];
    if (strcmp(name, "version") == 0) {
        printf("sluice %s (librdkafka %s)\n", SL_VERSION, rd_kafka_version_str());
        goto out;
    }
    if (strcmp(name, "help") == 0) {
        /* "help topic create" is "topic create --help". */
        if (a.npos < 2) {
            rc = sl_help(main_help);
            goto out;
        }
        const command *c = find_command(a.pos[1]);
        if (!c) {
            rc = sl_usage(cli, "unknown command '%s'", a.pos[1]);
            goto out;
        }
        char **hargv = sl_calloc((size_t)a.npos, sizeof(char *));
        int n = 0;
        for (int i = 2; i < a.npos; i++)
            hargv[n++] = a.pos[i];
        hargv[n++] = "--help";
        sl_cli_set_cmd(cli, c->name);
        rc = c->fn(cli, n, hargv);
        sl_free(hargv);
        goto out;
    }
    const command *c = find_command(name);
    if (!c) {
        rc = sl_usage(cli, "unknown command '%s'", name);
        goto out;
    }
    sl_cli_set_cmd(cli, c->name);
    if (a.help) {
        /* "sluice --help topic" */
        char *h[] = {"--help"};
        rc = c->fn(cli, 1, h);
    } else {
        rc = c->fn(cli, a.npos - 1, a.pos + 1);
    }
out:
    sl_args_free(&a);
    return rc;
}

int main(int argc, char **argv)
{
    sl_cli cli;
    memset(&cli, 0, sizeof(cli));
    const char *env = getenv("SLUICE_BOOTSTRAP");
    cli.bootstrap = env && *env ? env : SL_DEFAULT_BOOTSTRAP;
    cli.timeout_ms = SL_DEFAULT_TIMEOUT_MS;
    /* The load generator has its own options (instances, rates, librdkafka
     * -X properties) and its own output; it shares only the binary. */
    if (argc >= 2 && strcmp(argv[1], "perf") == 0) return sl_cli_perf(argc - 1, argv + 1);
    if (argc >= 3 && strcmp(argv[1], "help") == 0 && strcmp(argv[2], "perf") == 0) {
        char *h[] = {"perf", "--help", NULL};
        return sl_cli_perf(2, h);
    }
    int rc = run(&cli, argc - 1, argv + 1);
    sl_free(cli.props);
    if (fflush(stdout) != 0 && rc == 0) rc = SL_EXIT_FAILED;
    return rc;
}

/* sluiced: the broker process. Parses settings (defaults < properties file
 * < --name=value arguments), starts the broker on one libuv loop, and shuts
 * it down cleanly on SIGTERM or SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/err.h"
#include "base/log.h"
#include "broker/broker.h"
#include "broker/config.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0.1.0"
#endif

static void usage(FILE *out)
{
    fprintf(out, "usage: sluiced [server.properties] [--name=value ...]\n"
                 "\n"
                 "A single-node Kafka-protocol broker. With no arguments it listens on\n"
                 "127.0.0.1:9092 and keeps its data in ./sluice-data.\n"
                 "\n"
                 "  --help       this text and every setting\n"
                 "  --version    print the version\n"
                 "\n");
    sl_config_print_help(out);
}

/* Every connection, segment and index costs a descriptor, and the usual
 * soft limit (1024) would refuse clients long before memory runs short: take
 * all the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_max;
    if (rl.rlim_cur < want) {
        struct rlimit up = {want, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) rl.rlim_cur = want;
    }
    SL_INFO("server", "open file limit %llu (hard limit %llu)", (unsigned long long)rl.rlim_cur,
            (unsigned long long)rl.rlim_max);
}

typedef struct app {
    uv_loop_t loop;
    sl_broker *broker;
    uv_signal_t sig_term, sig_int;
    int exit_code;
    bool stopped;
} app;

static void on_stopped(void *arg, int status)
{
    app *a = arg;
    if (status < 0) a->exit_code = 1;
    a->stopped = true;
    a->broker = NULL;
    uv_close((uv_handle_t *)&a->sig_term, NULL);
    uv_close((uv_handle_t *)&a->sig_int, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    app *a = h->data;
    SL_INFO("server", "received %s, shutting down", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    if (a->broker) sl_broker_stop(a->broker, on_stopped, a);
}

int main(int argc, char **argv)
{
    sl_config *cfg = sl_config_new();
    char err[512];
    int rc;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            sl_config_free(cfg);
            return 0;
        }
        if (strcmp(arg, "--help-markdown") == 0) {
            sl_config_print_markdown(stdout);
            sl_config_free(cfg);
            return 0;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("sluiced %s\n", SLUICE_VERSION);
            sl_config_free(cfg);
            return 0;
        }
        if (strncmp(arg, "--", 2) == 0) {
            const char *eq = strchr(arg, '=');
            if (!eq) {
                fprintf(stderr, "sluiced: expected --name=value, got '%s'\n", arg);
                sl_config_free(cfg);
                return 2;
            }
            char name[256];
            size_t n = (size_t)(eq - arg - 2);
            if (n >= sizeof name) n = sizeof name - 1;
            memcpy(name, arg + 2, n);
            name[n] = '\0';
            rc = sl_config_set(cfg, name, eq + 1, SL_CFG_SRC_STATIC_BROKER, err, sizeof err);
        } else if (i == 1) {
            rc = sl_config_load_file(cfg, arg, err, sizeof err);
        } else {
            snprintf(err, sizeof err, "unexpected argument '%s' (the properties file comes first)",
                     arg);
            rc = SL_ERR_INVALID_ARG;
        }
        if (rc < 0) {
            fprintf(stderr, "sluiced: %s\n", err);
            sl_config_free(cfg);
            return 2;
        }
    }
    if (sl_config_finish(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "sluiced: %s\n", err);
        sl_config_free(cfg);
        return 2;
    }
    sl_log_set_level((enum sl_log_level)sl_log_parse_level(sl_config_str(cfg, SL_BCFG_LOG_LEVEL)));
    /* A peer resetting its connection must not kill the process (sendfile
     * has no MSG_NOSIGNAL). */
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();

    app a = {0};
    uv_loop_init(&a.loop);
    uv_signal_init(&a.loop, &a.sig_term);
    uv_signal_init(&a.loop, &a.sig_int);
    a.sig_term.data = a.sig_int.data = &a;
    uv_signal_start(&a.sig_term, on_signal, SIGTERM);
    uv_signal_start(&a.sig_int, on_signal, SIGINT);

    rc = sl_broker_start(&a.loop, cfg, &a.broker);
    if (rc < 0) {
        a.exit_code = 1;
        sl_broker_stop(a.broker, on_stopped, &a);
    }
    uv_run(&a.loop, UV_RUN_DEFAULT);
    if (!a.stopped) a.exit_code = 1;
    rc = uv_loop_close(&a.loop);
    if (rc != 0) SL_WARN("server", "event loop closed with handles still open");
    sl_config_free(cfg);
    SL_INFO("server", "stopped");
    return a.exit_code;
}

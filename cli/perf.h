/* sluice perf: the load generator (a librdkafka client).
 *
 *   sluice perf produce  [options]   throughput of N producer instances
 *   sluice perf consume  [options]   throughput of N consumer instances
 *   sluice perf latency  [options]   end-to-end latency at a fixed rate
 *
 * Every instance is its own rd_kafka_t on its own thread. `latency` stamps
 * each message with its *intended* send time (start + i / rate) and measures
 * consume time minus that, so a stalled producer cannot hide the stall
 * (no coordinated omission). `sluice perf --help` lists the options.
 *
 * Output: a human summary on stdout, or one JSON object with --json.
 * Exit status 0 on success, 1 when messages failed or went missing, 2 on a
 * usage error. */
#ifndef SL_CLI_PERF_H
#define SL_CLI_PERF_H

/* argv[0] is "perf", argv[1] the mode. */
int sl_cli_perf(int argc, char **argv);

#endif

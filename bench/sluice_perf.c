/* Standalone build of `sluice perf` (cli/perf.c) for the benchmark runner,
 * usable before and independently of the full CLI:
 *   build/bench/bench_sluice_perf produce|consume|latency [options] */
#include "perf.h"

int main(int argc, char **argv)
{
    argv[0] = "perf";
    return sl_cli_perf(argc, argv);
}

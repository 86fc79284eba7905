/* sl_broker: the single-node Kafka broker — owns the log directory, the
 * metadata log, the listener and every partition, all on one libuv loop.
 *
 * Startup order: open the log directory (recovery runs here), bind the
 * listener (so clients can connect within milliseconds), open the metadata
 * log; requests that need metadata are held until it is ready.
 * Shutdown: stop accepting, answer parked requests, wait for in-flight
 * fsyncs, save producer state, close the log directory (flush + clean
 * marker), close the metadata log.
 */
#ifndef SL_BROKER_BROKER_H
#define SL_BROKER_BROKER_H

#include <uv.h>

#include "broker/config.h"

typedef struct sl_broker sl_broker;

/* Creates and starts the broker on `loop` (config is borrowed and must
 * outlive it). Returns 0 or a negative SL_ERR_* (logged). */
int sl_broker_start(uv_loop_t *loop, sl_config *cfg, sl_broker **out);
/* Begins an orderly shutdown; `cb` runs when everything is closed and the
 * broker freed, with 0 or the error that made the broker stop on its own
 * (e.g. the metadata log failed to start). Safe to call more than once. */
void sl_broker_stop(sl_broker *b, void (*cb)(void *arg, int status), void *arg);
/* The bound port (after start). */
int sl_broker_port(const sl_broker *b);

#endif

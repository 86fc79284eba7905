/* Internal error codes.
 *
 * Every internal function returns 0 (or a non-negative count) on success and
 * a negative SL_ERR_* on failure. Kafka error codes are produced only at the
 * handler boundary (src/broker/errmap.c); nothing below src/broker knows them.
 */
#ifndef SL_BASE_ERR_H
#define SL_BASE_ERR_H

enum sl_err {
    SL_OK = 0,
    SL_ERR_NOMEM = -1,          /* allocation failed or a size limit refused it */
    SL_ERR_IO = -2,             /* read/write/fsync failed (errno logged) */
    SL_ERR_INVALID_ARG = -3,    /* caller passed something nonsensical */
    SL_ERR_NOT_FOUND = -4,      /* no such topic, partition, file, key */
    SL_ERR_EXISTS = -5,         /* already exists */
    SL_ERR_TRUNCATED = -6,      /* input ends before a length says it should */
    SL_ERR_DECODE = -7,         /* malformed protocol message */
    SL_ERR_CORRUPT = -8,        /* CRC mismatch or impossible header (CORRUPT_MESSAGE) */
    SL_ERR_INVALID_RECORD = -9, /* a well-formed batch that breaks a rule (INVALID_RECORD) */
    SL_ERR_TOO_LARGE = -10,     /* batch or request above a configured limit */
    SL_ERR_UNSUPPORTED_COMPRESSION = -11,
    SL_ERR_UNSUPPORTED_VERSION = -12,
    SL_ERR_OFFSET_OUT_OF_RANGE = -13,
    SL_ERR_OFFLINE = -14, /* log directory offline after an I/O failure */
    SL_ERR_DUPLICATE_SEQUENCE = -15,
    SL_ERR_OUT_OF_ORDER_SEQUENCE = -16,
    SL_ERR_INVALID_PRODUCER_EPOCH = -17,
    SL_ERR_UNKNOWN_PRODUCER = -18,
    SL_ERR_INVALID_TIMESTAMP = -19,
    SL_ERR_NOT_LEADER = -20,
    SL_ERR_TIMEOUT = -21,
    SL_ERR_CLOSED = -22, /* object shut down / connection closed */
    SL_ERR_AGAIN = -23,  /* try later (backpressure, busy) */
    SL_ERR_INVALID_CONFIG = -24,
    SL_ERR_INVALID_TOPIC = -25,
    SL_ERR_POLICY = -26,   /* refused by a configured policy */
    SL_ERR_INTERNAL = -27, /* a bug: invariant broken */
    SL_ERR_UNKNOWN_MEMBER = -28,
    SL_ERR_ILLEGAL_GENERATION = -29,
    SL_ERR_REBALANCE_IN_PROGRESS = -30,
    SL_ERR_FENCED_INSTANCE = -31,
    SL_ERR_GROUP_FULL = -32,
    SL_ERR_NOT_EMPTY = -33,
    SL_ERR_COORDINATOR_LOADING = -34,
    SL_ERR_MEMBER_ID_REQUIRED = -35,
    SL_ERR_INCONSISTENT_PROTOCOL = -36,
    SL_ERR__COUNT = 37
};

/* Short stable name of an error, e.g. "corrupt". Never NULL. */
const char *sl_err_str(int err);

#endif

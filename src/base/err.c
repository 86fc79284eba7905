#include "base/err.h"

const char *sl_err_str(int err)
{
    static const char *const names[SL_ERR__COUNT] = {
        "ok",
        "out of memory",
        "i/o error",
        "invalid argument",
        "not found",
        "already exists",
        "truncated",
        "malformed message",
        "corrupt",
        "invalid record",
        "too large",
        "unsupported compression",
        "unsupported version",
        "offset out of range",
        "log directory offline",
        "duplicate sequence",
        "out of order sequence",
        "invalid producer epoch",
        "unknown producer",
        "invalid timestamp",
        "not leader",
        "timeout",
        "closed",
        "try again",
        "invalid config",
        "invalid topic",
        "policy violation",
        "internal error",
        "unknown member",
        "illegal generation",
        "rebalance in progress",
        "fenced instance",
        "group full",
        "not empty",
        "coordinator loading",
        "member id required",
        "inconsistent protocol",
    };
    if (err > 0) return "ok";
    if (-err >= SL_ERR__COUNT) return "unknown error";
    return names[-err];
}

/* Structured logging to stderr: one line per event,
 *   2026-11-23T10:15:00.123Z INFO  log: segment rolled topic=t partition=0 base_offset=42
 * The level is process-wide and set once at startup (log.level). */
#ifndef SL_BASE_LOG_H
#define SL_BASE_LOG_H

enum sl_log_level { SL_LOG_DEBUG = 0, SL_LOG_INFO, SL_LOG_WARN, SL_LOG_ERROR, SL_LOG_OFF };

void sl_log_set_level(enum sl_log_level level);
enum sl_log_level sl_log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns -1 if unknown. */
int sl_log_parse_level(const char *s);

void sl_log_write(enum sl_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SL_LOG(level, module, ...)                                                                 \
    do {                                                                                           \
        if ((level) >= sl_log_get_level()) sl_log_write((level), (module), __VA_ARGS__);           \
    } while (0)
#define SL_DEBUG(module, ...) SL_LOG(SL_LOG_DEBUG, module, __VA_ARGS__)
#define SL_INFO(module, ...)  SL_LOG(SL_LOG_INFO, module, __VA_ARGS__)
#define SL_WARN(module, ...)  SL_LOG(SL_LOG_WARN, module, __VA_ARGS__)
#define SL_ERROR(module, ...) SL_LOG(SL_LOG_ERROR, module, __VA_ARGS__)

#endif

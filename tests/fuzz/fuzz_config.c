/* libFuzzer target: the properties-file parser and the topic-config
 * validator. Any input must give 0 or a clean error, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "broker/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_config *c = sl_config_new();
    char err[256];
    if (sl_config_load_text(c, (const char *)data, size, "fuzz", err, sizeof err) == 0)
        sl_config_finish(c, err, sizeof err);
    /* Each "key=value" line also goes through the topic-config validator. */
    char line[512];
    size_t pos = 0;
    while (pos < size) {
        size_t n = 0;
        while (pos + n < size && data[pos + n] != '\n' && n < sizeof line - 1)
            n++;
        memcpy(line, data + pos, n);
        line[n] = '\0';
        pos += n + 1;
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        sl_topic_config_validate(line, eq + 1, err, sizeof err);
    }
    sl_topic_config tc;
    sl_topic_config_resolve(c, NULL, 0, &tc);
    sl_config_free(c);
    return 0;
}

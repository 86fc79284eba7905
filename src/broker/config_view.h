/* What DescribeConfigs / CreateTopics show for a topic or the broker: each
 * setting's effective value, where it came from and its synonyms (the
 * broker settings that supply a topic setting's default). */
#ifndef SL_BROKER_CONFIG_VIEW_H
#define SL_BROKER_CONFIG_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/config.h"
#include "meta/image.h"

typedef struct sl_cfg_synonym {
    const char *name;
    const char *value;
    int8_t source;
} sl_cfg_synonym;

typedef struct sl_cfg_entry {
    const char *name;
    const char *value; /* NULL = no value */
    int8_t source;     /* sl_cfg_source */
    bool read_only;
    bool sensitive;
    int8_t type; /* sl_cfg_type */
    const char *doc;
    sl_cfg_synonym synonyms[2];
    int nsynonyms;
    char buf[32]; /* storage for a computed value */
} sl_cfg_entry;

/* Fills out[0..SL_TCFG__COUNT) for topic `mt`; returns the count. Values
 * point into `out` or into the image/config (valid until they change). */
int sl_topic_config_entries(const sl_config *c, const sl_meta_topic *mt, sl_cfg_entry *out);
/* Fills out[0..SL_BCFG__COUNT) for the broker; returns the count. */
int sl_broker_config_entries(const sl_config *c, sl_cfg_entry *out);

#endif

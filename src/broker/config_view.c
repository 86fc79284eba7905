#include "broker/config_view.h"

#include <stdio.h>
#include <string.h>

static const char *topic_doc(sl_tcfg id)
{
    switch (id) {
    case SL_TCFG_CLEANUP_POLICY:
        return "delete: remove old segments by retention; compact: keep the latest value per key";
    case SL_TCFG_COMPRESSION_TYPE:
        return "Stored compression; 'producer' keeps what the client sent";
    case SL_TCFG_FLUSH_MESSAGES:
        return "fsync after this many messages";
    case SL_TCFG_FLUSH_MS:
        return "fsync data at least this often";
    case SL_TCFG_INDEX_INTERVAL_BYTES:
        return "Bytes between offset index entries";
    case SL_TCFG_MAX_MESSAGE_BYTES:
        return "Largest record batch accepted";
    case SL_TCFG_MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS:
        return "Largest allowed difference between a CreateTime timestamp and the broker clock";
    case SL_TCFG_MESSAGE_TIMESTAMP_TYPE:
        return "CreateTime or LogAppendTime";
    case SL_TCFG_MIN_INSYNC_REPLICAS:
        return "Replicas that must have a write for acks=all";
    case SL_TCFG_RETENTION_BYTES:
        return "Delete old segments beyond this partition size; -1 = unlimited";
    case SL_TCFG_RETENTION_MS:
        return "Delete segments older than this; -1 = keep forever";
    case SL_TCFG_SEGMENT_BYTES:
        return "Roll a new segment at this size";
    case SL_TCFG_SEGMENT_MS:
        return "Roll a new segment after this age";
    default:
        return "";
    }
}

int sl_topic_config_entries(const sl_config *c, const sl_meta_topic *mt, sl_cfg_entry *out)
{
    for (int i = 0; i < SL_TCFG__COUNT; i++) {
        sl_cfg_entry *e = &out[i];
        memset(e, 0, sizeof *e);
        e->name = sl_topic_config_name((sl_tcfg)i);
        e->type = (int8_t)sl_topic_config_type((sl_tcfg)i);
        e->doc = topic_doc((sl_tcfg)i);
        sl_bcfg syn = sl_topic_config_broker_synonym((sl_tcfg)i);
        const char *def = sl_topic_config_default(c, (sl_tcfg)i, e->buf, sizeof e->buf);
        int8_t def_source =
            (int8_t)(sl_config_source(c, syn) == SL_CFG_SRC_STATIC_BROKER ? SL_CFG_SRC_STATIC_BROKER
                                                                          : SL_CFG_SRC_DEFAULT);
        const char *override = mt ? sl_meta_topic_config(mt, e->name) : NULL;
        if (override) {
            e->value = override;
            e->source = SL_CFG_SRC_TOPIC;
            e->synonyms[e->nsynonyms++] = (sl_cfg_synonym){e->name, override, SL_CFG_SRC_TOPIC};
        } else {
            e->value = def;
            e->source = def_source;
        }
        e->synonyms[e->nsynonyms++] =
            (sl_cfg_synonym){sl_config_def(syn)->name, sl_config_str(c, syn), def_source};
    }
    return SL_TCFG__COUNT;
}

int sl_broker_config_entries(const sl_config *c, sl_cfg_entry *out)
{
    for (int i = 0; i < SL_BCFG__COUNT; i++) {
        const sl_cfg_def *d = sl_config_def((sl_bcfg)i);
        sl_cfg_entry *e = &out[i];
        memset(e, 0, sizeof *e);
        e->name = d->name;
        e->value = sl_config_str(c, (sl_bcfg)i);
        e->source = (int8_t)sl_config_source(c, (sl_bcfg)i);
        /* No dynamic broker settings yet: every one is fixed at startup. */
        e->read_only = true;
        e->type = (int8_t)d->type;
        e->doc = d->doc;
        e->synonyms[e->nsynonyms++] = (sl_cfg_synonym){e->name, e->value, e->source};
    }
    return SL_BCFG__COUNT;
}

/* A configuration key and value, shared by the config table, the metadata
 * image and the handlers. value == NULL deletes the key where deletion makes
 * sense (config alterations). Both strings are borrowed. */
#ifndef SL_BASE_KV_H
#define SL_BASE_KV_H

typedef struct sl_config_kv {
    const char *key;
    const char *value;
} sl_config_kv;

#endif

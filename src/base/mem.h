/* Allocation wrappers.
 *
 * Allocation failure of a small, bounded request is not recoverable in a
 * broker that already enforces size limits before allocating, so these abort
 * with a log line instead of returning NULL. Anything whose size comes from
 * the network must be checked against a limit *before* calling them.
 */
#ifndef SL_BASE_MEM_H
#define SL_BASE_MEM_H

#include <stddef.h>

void *sl_malloc(size_t n);
void *sl_calloc(size_t count, size_t size);
void *sl_realloc(void *p, size_t n);
char *sl_strdup(const char *s);
char *sl_strndup(const char *s, size_t n);
void sl_free(void *p);

#define SL_NEW(type)    ((type *)sl_calloc(1, sizeof(type)))
#define SL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SL_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define SL_MAX(a, b)    ((a) > (b) ? (a) : (b))

#endif

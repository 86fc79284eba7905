/* Output helpers of the sluice commands: text tables, a streaming JSON
 * writer with escaping that always yields valid JSON, and the progress line. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "cli.h"

/* ---- tables ---------------------------------------------------------------- */

struct sl_table {
    int ncols;
    char **cells; /* row-major; the first row is the header */
    size_t ncells, cap;
    int in_row; /* cells in the current row */
};

static void table_push(sl_table *t, char *cell)
{
    if (t->ncells == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->cells = sl_realloc(t->cells, t->cap * sizeof(char *));
    }
    t->cells[t->ncells++] = cell;
}

sl_table *sl_table_new(int ncols, ...)
{
    sl_table *t = SL_NEW(sl_table);
    t->ncols = ncols;
    va_list ap;
    va_start(ap, ncols);
    for (int i = 0; i < ncols; i++)
        table_push(t, sl_strdup(va_arg(ap, const char *)));
    va_end(ap);
    return t;
}

void sl_table_add(sl_table *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = sl_strdup("?");
    va_end(ap);
    /* Cells come from sl_strdup elsewhere; keep one allocator for sl_free. */
    char *cell = sl_strdup(s);
    free(s);
    if (t->in_row == t->ncols) sl_table_end_row(t);
    table_push(t, cell);
    t->in_row++;
}

void sl_table_end_row(sl_table *t)
{
    while (t->in_row > 0 && t->in_row < t->ncols) {
        table_push(t, sl_strdup(""));
        t->in_row++;
    }
    t->in_row = 0;
}

size_t sl_table_rows(const sl_table *t)
{
    return t->ncells / (size_t)t->ncols - 1;
}

void sl_table_print(const sl_table *t, FILE *f)
{
    size_t *w = sl_calloc((size_t)t->ncols, sizeof(size_t));
    size_t full = t->ncells - t->ncells % (size_t)t->ncols;
    for (size_t i = 0; i < full; i++) {
        size_t n = strlen(t->cells[i]);
        if (n > w[i % (size_t)t->ncols]) w[i % (size_t)t->ncols] = n;
    }
    for (size_t row = 0; row < full; row += (size_t)t->ncols) {
        /* Pad every cell but the row's last non-empty one: no trailing blanks. */
        int last = t->ncols - 1;
        while (last > 0 && !t->cells[row + (size_t)last][0])
            last--;
        for (int col = 0; col <= last; col++) {
            if (col == last)
                fprintf(f, "%s\n", t->cells[row + (size_t)col]);
            else
                fprintf(f, "%-*s  ", (int)w[col], t->cells[row + (size_t)col]);
        }
    }
    sl_free(w);
}

void sl_table_free(sl_table *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->ncells; i++)
        sl_free(t->cells[i]);
    sl_free(t->cells);
    sl_free(t);
}

/* ---- JSON ------------------------------------------------------------------ */

void sl_json_init(sl_json *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
}

/* Before any value: the comma between siblings (not after a key). */
static void value_prefix(sl_json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0 && j->need_comma[j->depth]) fputc(',', j->f);
    j->need_comma[j->depth] = true;
}

static void open_nested(sl_json *j, int ch)
{
    value_prefix(j);
    fputc(ch, j->f);
    if (j->depth < (int)SL_ARRAY_LEN(j->need_comma) - 1) j->depth++;
    j->need_comma[j->depth] = false;
}

static void close_nested(sl_json *j, int ch)
{
    fputc(ch, j->f);
    if (j->depth > 0) j->depth--;
}

void sl_json_obj(sl_json *j)
{
    open_nested(j, '{');
}
void sl_json_obj_end(sl_json *j)
{
    close_nested(j, '}');
}
void sl_json_arr(sl_json *j)
{
    open_nested(j, '[');
}
void sl_json_arr_end(sl_json *j)
{
    close_nested(j, ']');
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return len;
}

void sl_json_escape(FILE *f, const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        switch (c) {
        case '"':
            fputs("\\\"", f);
            i++;
            continue;
        case '\\':
            fputs("\\\\", f);
            i++;
            continue;
        case '\n':
            fputs("\\n", f);
            i++;
            continue;
        case '\r':
            fputs("\\r", f);
            i++;
            continue;
        case '\t':
            fputs("\\t", f);
            i++;
            continue;
        }
        if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
            i++;
            continue;
        }
        size_t len = utf8_len(p + i, n - i);
        if (len == 0) { /* not UTF-8: the byte as a code point */
            fprintf(f, "\\u%04x", c);
            i++;
            continue;
        }
        fwrite(p + i, 1, len, f);
        i += len;
    }
}

void sl_json_key(sl_json *j, const char *key)
{
    if (j->need_comma[j->depth]) fputc(',', j->f);
    j->need_comma[j->depth] = true;
    fputc('"', j->f);
    sl_json_escape(j->f, key, strlen(key));
    fputs("\":", j->f);
    j->after_key = true;
}

void sl_json_strn(sl_json *j, const void *p, size_t n)
{
    value_prefix(j);
    fputc('"', j->f);
    sl_json_escape(j->f, p, n);
    fputc('"', j->f);
}

void sl_json_str(sl_json *j, const char *s)
{
    if (!s)
        sl_json_null(j);
    else
        sl_json_strn(j, s, strlen(s));
}

void sl_json_bytes_or_null(sl_json *j, const void *p, size_t n)
{
    if (!p)
        sl_json_null(j);
    else
        sl_json_strn(j, p, n);
}

void sl_json_int(sl_json *j, int64_t v)
{
    value_prefix(j);
    fprintf(j->f, "%lld", (long long)v);
}

void sl_json_bool(sl_json *j, bool v)
{
    value_prefix(j);
    fputs(v ? "true" : "false", j->f);
}

void sl_json_null(sl_json *j)
{
    value_prefix(j);
    fputs("null", j->f);
}

void sl_json_end_line(sl_json *j)
{
    fputc('\n', j->f);
    j->need_comma[0] = false;
}

void sl_json_kstr(sl_json *j, const char *key, const char *s)
{
    sl_json_key(j, key);
    sl_json_str(j, s);
}

void sl_json_kint(sl_json *j, const char *key, int64_t v)
{
    sl_json_key(j, key);
    sl_json_int(j, v);
}

void sl_json_kbool(sl_json *j, const char *key, bool v)
{
    sl_json_key(j, key);
    sl_json_bool(j, v);
}

void sl_json_print_flag(const char *key, const char *name, const char *flag)
{
    sl_json j;
    sl_json_init(&j, stdout);
    sl_json_obj(&j);
    sl_json_kstr(&j, key, name);
    sl_json_kbool(&j, flag, true);
    sl_json_obj_end(&j);
    sl_json_end_line(&j);
}

/* ---- progress line --------------------------------------------------------- */

int64_t sl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void sl_progress_init(sl_progress *p, const char *verb)
{
    memset(p, 0, sizeof(*p));
    p->enabled = isatty(STDERR_FILENO) == 1;
    p->verb = verb;
    p->start_ns = p->last_ns = sl_now_ns();
}

void sl_progress_update(sl_progress *p, int64_t count)
{
    if (!p->enabled) return;
    int64_t now = sl_now_ns();
    if (now - p->last_ns < 200000000) return;
    double interval_s = (double)(now - p->last_ns) / 1e9;
    double rate = (double)(count - p->last_count) / interval_s;
    /* Smoothed so the number is readable while it updates. */
    p->rate = p->drawn ? 0.7 * p->rate + 0.3 * rate : rate;
    p->last_ns = now;
    p->last_count = count;
    fprintf(stderr, "\r\033[K  %s %lld msgs  %.0f msgs/s", p->verb, (long long)count, p->rate);
    fflush(stderr);
    p->drawn = true;
}

void sl_progress_done(sl_progress *p)
{
    if (p->enabled && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = false;
}

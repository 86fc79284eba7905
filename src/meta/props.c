/* meta.properties: the identity of a log directory, as in Kafka.
 *
 * Format: a text file of `key=value` lines; lines starting with '#' and
 * blank lines are ignored, whitespace around keys and values is trimmed,
 * unknown keys are ignored (so a newer version may add some). Written as:
 *
 *   #sluice metadata properties: do not edit
 *   version=1
 *   node.id=<node id, decimal>
 *   cluster.id=<22 URL-safe base64 characters>
 *
 * Invariants: version is 1; node.id is a decimal in [0, 2^31); cluster.id is
 * 1..63 characters of [A-Za-z0-9_-]. The file is replaced atomically
 * (write to meta.properties.tmp, fsync, rename, fsync the directory), so a
 * crash leaves either the old or the new file, never a torn one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/log.h"
#include "meta/meta.h"

#define PROPS_NAME      "meta.properties"
#define PROPS_MAX_BYTES 65536

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static bool valid_cluster_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(((sl_meta_props *)0)->cluster_id)) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static bool parse_int(const char *s, long long lo, long long hi, long long *out)
{
    if (!*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

int sl_meta_props_read(const char *dir, sl_meta_props *out)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, PROPS_NAME) >= (int)sizeof path)
        return SL_ERR_INVALID_ARG;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return SL_ERR_NOT_FOUND;
        SL_ERROR("meta", "cannot open %s: %s", path, strerror(errno));
        return SL_ERR_IO;
    }
    char *buf = malloc(PROPS_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return SL_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, PROPS_MAX_BYTES + 1, f);
    int read_err = ferror(f);
    fclose(f);
    if (read_err) {
        free(buf);
        SL_ERROR("meta", "cannot read %s", path);
        return SL_ERR_IO;
    }
    if (n > PROPS_MAX_BYTES || memchr(buf, 0, n)) {
        free(buf);
        SL_ERROR("meta", "%s is not a properties file", path);
        return SL_ERR_CORRUPT;
    }
    buf[n] = '\0';

    bool have_version = false, have_node = false, have_cluster = false;
    sl_meta_props p = {0};
    int rc = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        line = trim(line);
        if (!*line || line[0] == '#') continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            rc = SL_ERR_CORRUPT;
            break;
        }
        *eq = '\0';
        char *key = trim(line), *val = trim(eq + 1);
        long long v;
        if (strcmp(key, "version") == 0) {
            if (!parse_int(val, 0, INT_MAX, &v)) rc = SL_ERR_CORRUPT;
            p.version = (int)v;
            have_version = true;
        } else if (strcmp(key, "node.id") == 0) {
            if (!parse_int(val, 0, INT32_MAX, &v)) rc = SL_ERR_CORRUPT;
            p.node_id = (int32_t)v;
            have_node = true;
        } else if (strcmp(key, "cluster.id") == 0) {
            if (!valid_cluster_id(val))
                rc = SL_ERR_CORRUPT;
            else
                snprintf(p.cluster_id, sizeof p.cluster_id, "%s", val);
            have_cluster = true;
        }
    }
    free(buf);
    if (!rc && (!have_version || !have_node || !have_cluster)) rc = SL_ERR_CORRUPT;
    if (!rc && p.version != 1) rc = SL_ERR_CORRUPT;
    if (rc) {
        SL_ERROR("meta", "%s is malformed: it needs version=1, node.id and cluster.id", path);
        return rc;
    }
    *out = p;
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int sl_meta_props_write(const char *dir, const sl_meta_props *p)
{
    if (p->node_id < 0 || !valid_cluster_id(p->cluster_id)) return SL_ERR_INVALID_ARG;
    char path[PATH_MAX], tmp[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, PROPS_NAME) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, PROPS_NAME) >= (int)sizeof tmp)
        return SL_ERR_INVALID_ARG;
    char text[256];
    int len = snprintf(text, sizeof text,
                       "#sluice metadata properties: do not edit\n"
                       "version=1\nnode.id=%d\ncluster.id=%s\n",
                       (int)p->node_id, p->cluster_id);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) goto fail;
    ssize_t w = write(fd, text, (size_t)len);
    if (w != len || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        goto fail;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        goto fail;
    }
    if (fsync_dir(dir) != 0) goto fail;
    return 0;
fail:
    SL_ERROR("meta", "cannot write %s: %s", path, strerror(errno));
    return SL_ERR_IO;
}

int sl_meta_new_cluster_id(char out[23])
{
    uint8_t id[16];
    do {
        if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id) return SL_ERR_IO;
        sl_meta_uuid_format(id, out);
    } while (sl_meta_uuid_is_zero(id) || out[0] == '-');
    return 0;
}

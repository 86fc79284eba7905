#include "base/fileref.h"

#include <unistd.h>

#include "base/mem.h"

struct sl_fileref {
    int fd;
    int refs;
};

sl_fileref *sl_fileref_new(int fd)
{
    sl_fileref *f = SL_NEW(sl_fileref);
    f->fd = fd;
    f->refs = 1;
    return f;
}

sl_fileref *sl_fileref_ref(sl_fileref *f)
{
    f->refs++;
    return f;
}

void sl_fileref_unref(sl_fileref *f)
{
    if (!f || --f->refs > 0) return;
    if (f->fd >= 0) close(f->fd);
    sl_free(f);
}

int sl_fileref_fd(const sl_fileref *f)
{
    return f->fd;
}

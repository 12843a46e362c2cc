/*
 * Outbox storage over a POSIX directory (see mailout_store_posix() in
 * include/mailout/outbox.h).
 *
 * Durability: a blob is written to "<name>.tmp", fsync'ed, renamed over
 * its final name, and the directory is fsync'ed, so after power loss the
 * name refers to either the old complete blob or the new complete one.
 * Removal and moves fsync the directory too.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mailout/outbox.h>

typedef struct store_file {
    int fd;
    char final_path[PATH_MAX];
    char tmp_path[PATH_MAX];
} store_file;

/* Names are checked so a corrupt or hostile name cannot leave the dir. */
static int name_ok(const char *name)
{
    const char *p;
    if (!name[0] || name[0] == '.' || strstr(name, ".."))
        return 0;
    for (p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == '_' || c == '/'))
            return 0;
    }
    return 1;
}

static mailout_status path_of(const char *dir, const char *name, const char *suffix, char *out)
{
    int n;
    if (!name_ok(name))
        return MAILOUT_E_INVAL;
    n = snprintf(out, PATH_MAX, "%s/%s%s", dir, name, suffix);
    return n > 0 && n < PATH_MAX ? MAILOUT_OK : MAILOUT_E_LIMIT;
}

/* fsync the directory holding @p path, so a rename or unlink is durable. */
static mailout_status sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    char *slash;
    int fd, rc;
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (!slash)
        return MAILOUT_E_FILE;
    *slash = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return MAILOUT_E_FILE;
    rc = fsync(fd);
    close(fd);
    return rc == 0 ? MAILOUT_OK : MAILOUT_E_FILE;
}

static mailout_status ensure_dir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return MAILOUT_OK;
    return MAILOUT_E_FILE;
}

/* Creates the directory of @p path's parent if it is "<dir>/failed". */
static mailout_status ensure_parent(const char *dir, const char *name)
{
    char sub[PATH_MAX];
    if (ensure_dir(dir) != MAILOUT_OK)
        return MAILOUT_E_FILE;
    if (strncmp(name, "failed/", 7) != 0)
        return MAILOUT_OK;
    snprintf(sub, sizeof sub, "%s/failed", dir);
    return ensure_dir(sub);
}

static mailout_status st_create(void *ctx, const char *name, void **h)
{
    const char *dir = ctx;
    store_file *f;
    mailout_status st = ensure_parent(dir, name);
    if (st != MAILOUT_OK)
        return st;
    f = malloc(sizeof *f);
    if (!f)
        return MAILOUT_E_NOMEM;
    if (path_of(dir, name, "", f->final_path) != MAILOUT_OK ||
        path_of(dir, name, ".tmp", f->tmp_path) != MAILOUT_OK) {
        free(f);
        return MAILOUT_E_INVAL;
    }
    f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        free(f);
        return MAILOUT_E_FILE;
    }
    *h = f;
    return MAILOUT_OK;
}

static mailout_status st_write(void *ctx, void *h, const void *buf, size_t len)
{
    store_file *f = h;
    const char *p = buf;
    (void)ctx;
    while (len) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return MAILOUT_E_FILE;
        p += n;
        len -= (size_t)n;
    }
    return MAILOUT_OK;
}

static void st_discard(void *ctx, void *h)
{
    store_file *f = h;
    (void)ctx;
    close(f->fd);
    unlink(f->tmp_path);
    free(f);
}

static mailout_status st_commit(void *ctx, void *h)
{
    store_file *f = h;
    mailout_status st = MAILOUT_E_FILE;
    (void)ctx;
    /* close() releases the descriptor even when it fails: never twice */
    int rc = fsync(f->fd);
    rc |= close(f->fd);
    f->fd = -1;
    if (rc == 0 && rename(f->tmp_path, f->final_path) == 0)
        st = sync_dir_of(f->final_path);
    if (st != MAILOUT_OK)
        unlink(f->tmp_path);
    free(f);
    return st;
}

/* Reading goes through the files of mailout_posix_env() (a 64 KiB stdio
 * buffer per open file): the engine reads a body in pieces of half its
 * output buffer, and a bare read() per piece was a system call per 128 B. */
static mailout_status st_open(void *ctx, const char *name, void **h, uint64_t *size)
{
    char path[PATH_MAX];
    const mailout_file_ops *files = mailout_posix_env().files;
    if (path_of(ctx, name, "", path) != MAILOUT_OK)
        return MAILOUT_E_FILE;
    mailout_status st = files->open(NULL, path, h, size);
    if (st == MAILOUT_OK && *size == MAILOUT_SIZE_UNKNOWN) { /* not a regular file */
        files->close(NULL, *h);
        st = MAILOUT_E_FILE;
    }
    return st;
}

static mailout_status st_read(void *ctx, void *h, unsigned char *buf, size_t cap, size_t *got)
{
    (void)ctx;
    return mailout_posix_env().files->read(NULL, h, buf, cap, got);
}

static void st_close(void *ctx, void *h)
{
    (void)ctx;
    mailout_posix_env().files->close(NULL, h);
}

static mailout_status st_remove(void *ctx, const char *name)
{
    char path[PATH_MAX];
    if (path_of(ctx, name, "", path) != MAILOUT_OK)
        return MAILOUT_E_FILE;
    if (unlink(path) != 0)
        return errno == ENOENT ? MAILOUT_OK : MAILOUT_E_FILE;
    return sync_dir_of(path);
}

static mailout_status st_move(void *ctx, const char *from, const char *to)
{
    char a[PATH_MAX], b[PATH_MAX];
    if (path_of(ctx, from, "", a) != MAILOUT_OK || path_of(ctx, to, "", b) != MAILOUT_OK ||
        ensure_parent(ctx, to) != MAILOUT_OK)
        return MAILOUT_E_FILE;
    if (rename(a, b) != 0)
        return MAILOUT_E_FILE;
    if (sync_dir_of(b) != MAILOUT_OK)
        return MAILOUT_E_FILE;
    return sync_dir_of(a);
}

static mailout_status st_list(void *ctx, int (*cb)(void *cbctx, const char *name), void *cbctx)
{
    DIR *d;
    struct dirent *de;
    if (ensure_dir(ctx) != MAILOUT_OK)
        return MAILOUT_E_FILE;
    d = opendir(ctx);
    if (!d)
        return MAILOUT_E_FILE;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || (n > 4 && !strcmp(de->d_name + n - 4, ".tmp")) || !name_ok(de->d_name))
            continue;
        if (cb(cbctx, de->d_name))
            break;
    }
    closedir(d);
    return MAILOUT_OK;
}

const mailout_store_ops *mailout_store_posix(void)
{
    static const mailout_store_ops ops = {
        st_create, st_write, st_commit, st_discard, st_open, st_read, st_close, st_remove, st_move, st_list,
    };
    return &ops;
}

/* see mailout/message.h: mailout_posix_env() — clock, randomness and files
 * for hosted builds. Outside the core: the core never calls the OS. */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1 /* getrandom() in <sys/random.h> (glibc) */
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "internal.h"

#include <mailout/message.h>

static int posix_now(void *ctx, int64_t *unix_seconds, int *utc_offset_minutes)
{
    struct timespec ts;
    struct tm local;
    (void)ctx;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return -1;
    time_t t = ts.tv_sec;
    if (!localtime_r(&t, &local))
        return -1;
    *unix_seconds = (int64_t)ts.tv_sec;
    *utc_offset_minutes = (int)(local.tm_gmtoff / 60); /* glibc/BSD field */
    return 0;
}

static int posix_random(void *ctx, void *buf, size_t len)
{
    unsigned char *p = buf;
    (void)ctx;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The reader takes small pieces (MAILOUT_READER_INBUF_SIZE); with stdio's
 * default buffer (4 KiB) that was a read() per 4 KiB, 25600 system calls
 * for a 100 MB attachment. So every open file gets a 64 KiB buffer of its
 * own (glibc ignores the size given to setvbuf without a buffer), taken at
 * open and freed at close: memory stays constant whatever the file size. */
#define POSIX_FILE_BUF 65536

typedef struct posix_file {
    FILE *f;
    char buf[POSIX_FILE_BUF];
} posix_file;

static mailout_status file_open(void *ctx, const char *path, void **handle, uint64_t *size)
{
    struct stat st;
    (void)ctx;
    posix_file *h = malloc(sizeof *h);
    if (!h)
        return MAILOUT_E_NOMEM;
    h->f = fopen(path, "rb");
    if (!h->f) {
        free(h);
        return MAILOUT_E_FILE;
    }
    (void)setvbuf(h->f, h->buf, _IOFBF, sizeof h->buf); /* else stdio's own */
    /* the size of a regular file from the open handle; else unknown */
    if (fstat(fileno(h->f), &st) == 0 && S_ISREG(st.st_mode))
        *size = (uint64_t)st.st_size;
    else
        *size = MAILOUT_SIZE_UNKNOWN;
    *handle = h;
    return MAILOUT_OK;
}

static mailout_status file_read(void *ctx, void *handle, unsigned char *buf, size_t cap, size_t *got)
{
    posix_file *h = handle;
    (void)ctx;
    *got = fread(buf, 1, cap, h->f);
    if (*got > 0)
        return MAILOUT_OK;
    return ferror(h->f) ? MAILOUT_E_FILE : MAILOUT_DONE;
}

static void file_close(void *ctx, void *handle)
{
    posix_file *h = handle;
    (void)ctx;
    fclose(h->f);
    free(h);
}

static const mailout_file_ops posix_files = {file_open, file_read, file_close};

mailout_env mailout_posix_env(void)
{
    mailout_env env = {posix_now, posix_random, &posix_files, NULL};
    return env;
}

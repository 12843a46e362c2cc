/*
 * The outbox's storage format and the walk over its entries, shared by
 * outbox.c (queue operations) and outbox_entry.c (format). Internal.
 */
#ifndef MAILOUT_OUTBOX_INTERNAL_H
#define MAILOUT_OUTBOX_INTERNAL_H

#include <mailout/outbox.h>

#define OUTBOX_MAGIC "mailout-outbox 1 "
#define NAME_MAX_LEN (MAILOUT_OUTBOX_ID_MAX + 16)
#define STATE_MAX 512

struct mailout_outbox {
    const mailout_store_ops *ops;
    void *ctx;
    mailout_outbox_policy pol;
    int (*random)(void *ctx, void *buf, size_t len);
    void *random_ctx;
    mailout_allocator alloc;
    unsigned char buf[512]; /* copy buffer for spooling */
};

/* One parsed state blob. */
typedef struct ob_state {
    unsigned attempts;
    int64_t next;
    int64_t created;
    int unknown;
    char error[MAILOUT_REPLY_TEXT_MAX + 48];
} ob_state;

/* A loaded envelope: the header text parsed in place. */
typedef struct ob_env {
    char *text;
    size_t text_len;
    size_t blob_hdr; /* magic line + envelope: where the message starts */
    uint64_t size;   /* message bytes */
    const char **rcpt;
    size_t nrcpt;
    const char *from;
    unsigned notify;
    unsigned ret;
    const char *envid;
    int smtputf8;
    int is8;
} ob_env;

/* One pass over the store finds the smallest id above @p after (ids sort
 * by creation time), and one orphan state blob if there is any. Entries
 * are few on a device; n passes for n entries keeps memory constant. */
typedef struct ob_walk {
    mailout_outbox *ob;
    char after[MAILOUT_OUTBOX_ID_MAX];
    char best[MAILOUT_OUTBOX_ID_MAX];
    char orphan[MAILOUT_OUTBOX_ID_MAX];
    int have_after;
    int found;
    int have_orphan;
} ob_walk;

size_t outbox_put_str(char *dst, size_t pos, size_t cap, const char *s);
size_t outbox_put_u64(char *dst, size_t pos, size_t cap, uint64_t v);
size_t outbox_put_i64(char *dst, size_t pos, size_t cap, int64_t v);
int outbox_parse_i64(const char *s, size_t len, int64_t *out);
void outbox_make_name(char *dst, const char *prefix, const char *id, const char *suffix);
int outbox_valid_id(const char *id);
int64_t outbox_id_time(const char *id);
mailout_status outbox_make_id(mailout_outbox *ob, int64_t now, char *id);
mailout_status outbox_read_exact(mailout_outbox *ob, void *h, void *dst, size_t len);
void outbox_env_free(mailout_outbox *ob, ob_env *e);
mailout_status outbox_env_load(mailout_outbox *ob, const char *id, ob_env *e);
void outbox_state_load(mailout_outbox *ob, const char *id, ob_state *s);
mailout_status outbox_state_store(mailout_outbox *ob, const char *id, const ob_state *s);
void outbox_describe(char *dst, size_t cap, const mailout_result *r);
int outbox_blob_exists(mailout_outbox *ob, const char *name);
int outbox_walk_next(ob_walk *w);

#endif /* MAILOUT_OUTBOX_INTERNAL_H */

/*
 * mailout — the persistent outbox: nothing lost when the network or the
 * server is down (layer 5: client).
 *
 * A message that cannot be delivered now is kept as the exact bytes that
 * would be sent (the message before dot-stuffing) plus its envelope, and
 * retried later with exponential backoff until it is delivered, refused
 * for good (5xx: moved to "failed" with the server's reason), or too old.
 *
 * Entries
 * -------
 * Each entry is two blobs in a store (a directory on POSIX, any flash
 * layout through mailout_store_ops):
 *   <id>.msg    immutable: envelope header + message bytes;
 *   <id>.state  small, rewritten after each attempt: attempts, next try,
 *               last error, "delivery unknown" mark.
 * Both are written atomically (temporary name, sync, rename, sync of the
 * directory), so power loss at any point leaves either the complete entry
 * or nothing. A .msg without .state is a fresh entry. The .msg is removed
 * only after the server's 2xx for the data, and before its .state (an
 * orphan .state is deleted on the next list/flush).
 *
 * Delivery guarantees (documented choice): exactly once when every final
 * reply arrives; at least once when the reply after the data is lost
 * (MAILOUT_E_DELIVERY_UNKNOWN): the entry is kept, marked "unknown", and
 * by default sent again on the next flush, since a duplicate is better
 * than a lost support email. Set policy.park_unknown to 1 to keep such
 * entries until mailout_outbox_release() is called for them.
 *
 * Producer sources (callbacks, commands) are read once, while the entry is
 * written ("spooled"), so retries never need them again. A source failure
 * while spooling leaves no entry.
 */
#ifndef MAILOUT_OUTBOX_H
#define MAILOUT_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/message.h>
#include <mailout/smtp.h>
#include <mailout/status.h>
#include <mailout/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest entry id, with its NUL ("<16 hex time>-<16 hex random>"). */
#define MAILOUT_OUTBOX_ID_MAX 40

/**
 * Storage for the outbox: a flat namespace of named blobs, names made of
 * [A-Za-z0-9._/-] (the only '/' is in "failed/<name>").
 *   create: start writing blob @p name (invisible until commit);
 *   write:  append; commit: make it durable and visible under its name,
 *           atomically replacing an existing blob (the write handle is
 *           finished either way); discard: abandon an uncommitted blob;
 *   open/read/close: read a committed blob (read: OK with *got > 0, DONE
 *           with *got == 0 at the end, or an error);
 *   remove: delete durably (MAILOUT_OK if it did not exist);
 *   move:   rename durably (used to move entries to "failed/");
 *   list:   call @p cb for every committed blob name not under "failed/";
 *           cb returns non-zero to stop.
 * Errors are MAILOUT_E_FILE (or MAILOUT_E_NOMEM).
 */
typedef struct mailout_store_ops {
    mailout_status (*create)(void *ctx, const char *name, void **h);
    mailout_status (*write)(void *ctx, void *h, const void *buf, size_t len);
    mailout_status (*commit)(void *ctx, void *h);
    void (*discard)(void *ctx, void *h);
    mailout_status (*open)(void *ctx, const char *name, void **h, uint64_t *size);
    mailout_status (*read)(void *ctx, void *h, unsigned char *buf, size_t cap, size_t *got);
    void (*close)(void *ctx, void *h);
    mailout_status (*remove)(void *ctx, const char *name);
    mailout_status (*move)(void *ctx, const char *from, const char *to);
    mailout_status (*list)(void *ctx, int (*cb)(void *cbctx, const char *name), void *cbctx);
} mailout_store_ops;

/**
 * @brief Storage ops over a POSIX directory (hosted builds): pass the
 * directory path (const char *, outliving the outbox) as the ops' ctx.
 * The directory is created if missing; "failed/" inside it when first
 * needed. Temporary files end in ".tmp" and are ignored by list (a crash
 * can leave one; the next enqueue with the same name replaces it).
 */
MAILOUT_API const mailout_store_ops *mailout_store_posix(void);

/** Retry policy. Zero-initialised means the defaults in brackets. */
typedef struct mailout_outbox_policy {
    uint32_t first_delay_s; /**< [60] wait after the first failure */
    uint32_t max_delay_s;   /**< [3600] cap of the doubling delay */
    uint32_t max_age_s;     /**< [432000 = 5 days] then moved to failed */
    int park_unknown;       /**< [0 = resend] 1: keep "delivery unknown" entries until released */
} mailout_outbox_policy;

typedef struct mailout_outbox mailout_outbox; /**< opaque */

/**
 * @brief Open an outbox over a store.
 * @param ops, ctx the store (borrowed; must outlive the outbox).
 * @param policy NULL = defaults (copied).
 * @param random fills entry ids with unpredictable bytes (required: two
 *        devices or processes must not pick the same id).
 * @param alloc memory for the outbox object (about 1 KB).
 * @return MAILOUT_OK, MAILOUT_E_INVAL, MAILOUT_E_NOMEM.
 */
MAILOUT_API mailout_status mailout_outbox_open(mailout_outbox **out, const mailout_store_ops *ops, void *ctx,
                                               const mailout_outbox_policy *policy,
                                               int (*random)(void *ctx, void *buf, size_t len), void *random_ctx,
                                               const mailout_allocator *alloc);

/** @brief Free the outbox object (the store is untouched). NULL is a no-op. */
MAILOUT_API void mailout_outbox_close(mailout_outbox *ob);

/**
 * @brief Spool @p m into a new entry: reads the whole message once
 * (mailout_msg_read_start(m, flags)) and writes it with its envelope.
 * @param flags MAILOUT_READ_8BIT to keep 8-bit text unencoded (only if the
 *        server will offer 8BITMIME: without it, leave 0).
 * @param now Unix seconds (entry creation time).
 * @param id receives the entry id (MAILOUT_OUTBOX_ID_MAX bytes).
 * @return MAILOUT_OK (entry durable), MAILOUT_E_SOURCE / MAILOUT_E_FILE /
 *         reader errors (no entry left behind), MAILOUT_E_STATE.
 */
MAILOUT_API mailout_status mailout_outbox_enqueue(mailout_outbox *ob, mailout_msg *m, unsigned flags,
                                                  int64_t now, char *id);

/**
 * Sends one job (e.g. a wrapper of mailout_send_job()); fills @p res and
 * rcpt_codes[i] with the reply code to RCPT number i of the job (0 when
 * there was none; the smtp callbacks' rcpt hook gives them). After a
 * partial delivery the recipients that got a 4xx (or no reply) are queued
 * again as a new entry, so a temporary refusal loses nobody.
 */
typedef mailout_status (*mailout_outbox_send_fn)(void *ctx, const mailout_job *job, mailout_result *res,
                                                 uint16_t *rcpt_codes);

/** Counts from a flush. */
typedef struct mailout_outbox_stats {
    unsigned delivered; /**< 2xx: entry removed */
    unsigned deferred;  /**< temporary failure: retried later */
    unsigned failed;    /**< 5xx or too old: moved to failed/ */
    unsigned unknown;   /**< delivery unknown: kept and marked */
    unsigned waiting;   /**< not due yet */
} mailout_outbox_stats;

/**
 * @brief Try every entry that is due (or only @p only_id when not NULL,
 * due or not), oldest first, with @p send. After each attempt the entry
 * is removed (2xx), rescheduled (4xx, connection failures, timeouts,
 * unknown), or moved to failed/ with the server's reply (5xx, or older
 * than max_age).
 * @param stats optional.
 * @return MAILOUT_OK (see stats for outcomes), MAILOUT_E_FILE when the
 *         store fails (entries stay as they were).
 */
MAILOUT_API mailout_status mailout_outbox_flush(mailout_outbox *ob, int64_t now, const char *only_id,
                                                mailout_outbox_send_fn send, void *send_ctx,
                                                mailout_outbox_stats *stats);

/** One queued entry, as listed. */
typedef struct mailout_outbox_entry {
    const char *id;
    const char *from;
    size_t rcpt_count;
    uint64_t size;        /**< message bytes */
    int64_t created;
    int64_t next_try;
    unsigned attempts;
    int unknown;          /**< last attempt ended in "delivery unknown" */
    const char *last_error; /**< "" if none */
} mailout_outbox_entry;

/**
 * @brief Call @p cb for each queued entry (not failed ones), oldest first.
 * Removes orphan state blobs on the way.
 */
MAILOUT_API mailout_status mailout_outbox_list(mailout_outbox *ob,
                                               void (*cb)(void *ctx, const mailout_outbox_entry *e), void *ctx);

/** @brief Clear the "unknown" mark of @p id so the next flush sends it again. */
MAILOUT_API mailout_status mailout_outbox_release(mailout_outbox *ob, const char *id);

#ifdef __cplusplus
}
#endif

#endif /* MAILOUT_OUTBOX_H */

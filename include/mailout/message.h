/*
 * mailout — the message ("options object"), its part tree, and the
 * streaming reader that turns it into wire bytes (layer 2: message).
 *
 * A message collects the envelope (sender, recipients), header fields and a
 * tree of body parts. Nothing is encoded until it is read: the reader
 * produces the complete RFC 5322 / MIME message in windows of any size
 * (down to one byte), pulling body bytes from their sources on demand, so
 * memory use never depends on the size of bodies or attachments.
 *
 * Memory: every object is allocated from the mailout_allocator given to
 * mailout_msg_new() (an arena over static memory, or allocator hooks).
 * Strings passed to setters are validated and copied into that memory
 * (their length is bounded by config_defaults.h). Body buffers are NOT
 * copied: they are borrowed and must stay valid and unchanged until the
 * message is freed or no longer read.
 *
 * Failure: a setter that fails leaves the message exactly as it was
 * (nothing half-added), so the caller can fix the input and retry.
 *
 * Threads: a message is not thread-safe; one thread at a time.
 *
 * @code
 *   mailout_msg *m;
 *   mailout_part *root, *text, *att;
 *   mailout_allocator a = mailout_heap_allocator();
 *   mailout_msg_new(&m, &a);
 *   mailout_msg_set_env(m, &env);                 // clock, randomness, files
 *   mailout_msg_set_from(m, "dev@example.com", "Device 42");
 *   mailout_msg_add_recipient(m, MAILOUT_TO, "support@example.com", NULL);
 *   mailout_msg_set_subject(m, "Logs from device 42");
 *   mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root);
 *   mailout_part_new(m, root, &text);
 *   mailout_part_set_data(text, summary, summary_len);   // text/plain; charset=utf-8
 *   mailout_part_new(m, root, &att);
 *   mailout_part_set_file(att, "/var/log/device.log"); // filename "device.log"
 *   mailout_part_set_type(att, "text/plain");
 *   mailout_part_set_disposition(att, MAILOUT_ATTACHMENT);
 *   // then send with the client (client.h), or read it yourself:
 *   mailout_msg_read_start(m, 0);
 *   while ((st = mailout_msg_read(m, buf, sizeof buf, &n)) == MAILOUT_OK) write(1, buf, n);
 *   // st == MAILOUT_DONE: the last n bytes are valid too
 * @endcode
 */
#ifndef MAILOUT_MESSAGE_H
#define MAILOUT_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/config_defaults.h>
#include <mailout/encode.h>
#include <mailout/mem.h>
#include <mailout/status.h>
#include <mailout/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mailout_msg mailout_msg;   /**< opaque message */
typedef struct mailout_part mailout_part; /**< opaque part, owned by its message */

/** A size that is not known in advance. */
#define MAILOUT_SIZE_UNKNOWN UINT64_MAX

/* ------------------------------------------------------------------ */
/* environment: clock, randomness, files                               */
/* ------------------------------------------------------------------ */

/**
 * File access, for parts created with mailout_part_set_file(). The core
 * never touches a file system itself; hosted builds get POSIX hooks from
 * mailout_posix_env() (lib/port).
 *
 * open:  open @p path for reading; store a handle and the size in bytes
 *        (MAILOUT_SIZE_UNKNOWN if unknown). Return MAILOUT_OK or
 *        MAILOUT_E_FILE.
 * read:  read up to @p cap bytes. Return MAILOUT_OK with *got > 0,
 *        MAILOUT_DONE with *got == 0 at end of file, MAILOUT_AGAIN with
 *        *got == 0 if no data can be had now, or MAILOUT_E_FILE.
 * close: release the handle (always called once for every successful open).
 */
typedef struct mailout_file_ops {
    mailout_status (*open)(void *ctx, const char *path, void **handle, uint64_t *size);
    mailout_status (*read)(void *ctx, void *handle, unsigned char *buf, size_t cap, size_t *got);
    void (*close)(void *ctx, void *handle);
} mailout_file_ops;

/**
 * What the message needs from the platform. Any member may be NULL:
 *   now:    current time as Unix seconds and UTC offset in minutes
 *           (for the Date field). Without it the caller must call
 *           mailout_msg_set_date().
 *   random: fill @p buf with @p len unpredictable bytes (boundaries,
 *           Message-ID); return 0 on success. Without it the caller must
 *           set a Message-ID and no multipart may be used (MAILOUT_E_STATE
 *           at mailout_msg_read_start()).
 *   files:  file hooks; without them mailout_part_set_file() sources fail
 *           with MAILOUT_E_FILE.
 * The struct is copied; ctx must outlive the message.
 */
typedef struct mailout_env {
    int (*now)(void *ctx, int64_t *unix_seconds, int *utc_offset_minutes);
    int (*random)(void *ctx, void *buf, size_t len);
    const mailout_file_ops *files;
    void *ctx;
} mailout_env;

/** @brief POSIX clock, getrandom() and stdio files (hosted builds only).
 *  Each open file takes a 64 KiB buffer from the heap (malloc) until it is
 *  closed: one per part being read, whatever the file size. */
MAILOUT_API mailout_env mailout_posix_env(void);

/* ------------------------------------------------------------------ */
/* lifetime                                                            */
/* ------------------------------------------------------------------ */

/**
 * @brief Create an empty message.
 * @param out receives the message; untouched on failure.
 * @param alloc allocator; the struct is copied.
 * @return MAILOUT_OK, MAILOUT_E_INVAL, MAILOUT_E_NOMEM.
 */
MAILOUT_API mailout_status mailout_msg_new(mailout_msg **out, const mailout_allocator *alloc);

/**
 * @brief Free the message, its parts and copied strings, and close any open
 * file. Borrowed buffers are not touched. NULL is a no-op.
 */
MAILOUT_API void mailout_msg_free(mailout_msg *m);

/** @brief Set the platform hooks (copied). */
MAILOUT_API mailout_status mailout_msg_set_env(mailout_msg *m, const mailout_env *env);

/* ------------------------------------------------------------------ */
/* envelope and header fields                                          */
/* ------------------------------------------------------------------ */

/**
 * Addresses: an addr-spec "local@domain" (no angle brackets, no display
 * name) of printable ASCII, or UTF-8 when the server offers SMTPUTF8 (the
 * engine checks); the engine's rule exactly, so what a message takes the
 * envelope takes. Rejected with MAILOUT_E_ADDRESS: controls, missing '@',
 * local part > 64 or total > MAILOUT_MAX_ADDRESS_LEN, a local part that
 * is neither a dot-atom (atext and UTF-8, atoms between single dots) nor
 * a non-empty quoted string ("john q. public"@example.com; '<' and '>'
 * refused, escaped or not, as lax servers end the path at the first '>'),
 * "=?" in the local part (an encoded-word: RFC 2047 §5), a domain that is
 * not a dot-separated name of labels of 1..63 letters, digits, '-' (not
 * at either end) and UTF-8 (no '_': RFC 5321) or a [literal] of letters,
 * digits, '.', ':' and '-'
 * ([192.0.2.1], [IPv6:2001:db8::1]). Written into the header fields as
 * given.
 * Display names: UTF-8 text without controls, TAB included
 * (MAILOUT_E_HEADER); invalid UTF-8 is MAILOUT_E_UTF8; longer than
 * MAILOUT_MAX_DISPLAY_NAME_LEN is MAILOUT_E_LIMIT. Written as a quoted-string
 * when printable ASCII, else as RFC 2047 encoded-words. NULL or "" = none.
 * Every setter returns MAILOUT_E_INVAL for NULL arguments that are not
 * optional, and MAILOUT_E_STATE once reading has started.
 */

/** @brief The From field and, unless set otherwise, the envelope sender. */
MAILOUT_API mailout_status mailout_msg_set_from(mailout_msg *m, const char *addr, const char *display_name);

/** @brief An envelope sender (MAIL FROM) different from From; "" = null path "<>". */
MAILOUT_API mailout_status mailout_msg_set_envelope_from(mailout_msg *m, const char *addr);

/** @brief Reply-To field. */
MAILOUT_API mailout_status mailout_msg_set_reply_to(mailout_msg *m, const char *addr, const char *display_name);

typedef enum mailout_rcpt_kind {
    MAILOUT_TO = 0,
    MAILOUT_CC = 1,
    MAILOUT_BCC = 2 /**< envelope only: never written into the header */
} mailout_rcpt_kind;

/**
 * @brief Add a recipient (RCPT TO, and the To/Cc field unless Bcc).
 * @return MAILOUT_OK, MAILOUT_E_ADDRESS, MAILOUT_E_HEADER,
 *         MAILOUT_E_LIMIT (more than MAILOUT_MAX_RECIPIENTS), MAILOUT_E_NOMEM.
 */
MAILOUT_API mailout_status mailout_msg_add_recipient(mailout_msg *m, mailout_rcpt_kind kind, const char *addr,
                                                     const char *display_name);

/**
 * @brief Subject (UTF-8, RFC 2047-encoded when needed, folded).
 * Same rules and codes as a mailout_msg_add_header() value.
 */
MAILOUT_API mailout_status mailout_msg_set_subject(mailout_msg *m, const char *subject);

/**
 * @brief Date from Unix seconds and a UTC offset in minutes (-1439..1439).
 * Without it, the env's clock is asked when reading starts.
 */
MAILOUT_API mailout_status mailout_msg_set_date(mailout_msg *m, int64_t unix_seconds, int utc_offset_minutes);

/**
 * @brief Message-ID "<left@right>" (with the brackets). Without it one is
 * generated from the env's randomness and the sender's domain.
 */
MAILOUT_API mailout_status mailout_msg_set_message_id(mailout_msg *m, const char *msg_id);

/**
 * @brief Add a header field, written in the order added.
 *
 * @p name: printable ASCII 33..126 without ':', 1..MAILOUT_MAX_HEADER_NAME_LEN.
 * A name starting with "--" is refused (it could pass for a MIME boundary).
 * @p value: UTF-8 text without CR, LF, NUL or other controls except TAB
 * (MAILOUT_E_HEADER), valid UTF-8 (MAILOUT_E_UTF8), at most
 * MAILOUT_MAX_HEADER_VALUE_LEN bytes (MAILOUT_E_LIMIT). Printable ASCII is
 * written as is, folded at its white space (words of up to 250 characters
 * stay whole, for structured fields such as List-Unsubscribe); anything
 * else — non-ASCII, "=?", white space at either end, longer words — is
 * written entirely as RFC 2047 encoded-words. Fields the typed setters own
 * (From, Sender, To, Cc, Bcc, Reply-To, Subject, Date, Message-ID,
 * MIME-Version, Content-*) are refused, so each appears once.
 * @return MAILOUT_OK, MAILOUT_E_HEADER (nothing stored), MAILOUT_E_UTF8,
 *         MAILOUT_E_LIMIT (name > MAILOUT_MAX_HEADER_NAME_LEN, value too long,
 *         more than MAILOUT_MAX_HEADERS fields), MAILOUT_E_NOMEM.
 */
MAILOUT_API mailout_status mailout_msg_add_header(mailout_msg *m, const char *name, const char *value);

/* DSN (RFC 3461), used only when the server offers DSN. */
#define MAILOUT_NOTIFY_NEVER 1u
#define MAILOUT_NOTIFY_SUCCESS 2u
#define MAILOUT_NOTIFY_FAILURE 4u
#define MAILOUT_NOTIFY_DELAY 8u
typedef enum mailout_dsn_ret { MAILOUT_DSN_RET_DEFAULT = 0, MAILOUT_DSN_RET_FULL, MAILOUT_DSN_RET_HDRS } mailout_dsn_ret;

/**
 * @brief Request delivery status notifications: NOTIFY for every recipient
 * (NEVER alone, or any of SUCCESS|FAILURE|DELAY), RET, and ENVID (xtext
 * characters only, at most 100; NULL = none). ORCPT is sent as
 * "rfc822;<addr>" (xtext), or "utf-8;<addr>" (RFC 6533) for a UTF-8
 * address.
 * @return MAILOUT_OK, MAILOUT_E_INVAL, MAILOUT_E_NOMEM, MAILOUT_E_UNSUPPORTED
 *         (MAILOUT_ENABLE_DSN is 0).
 */
MAILOUT_API mailout_status mailout_msg_set_dsn(mailout_msg *m, unsigned notify, mailout_dsn_ret ret,
                                               const char *envid);

/* ------------------------------------------------------------------ */
/* envelope access (for the SMTP engine)                               */
/* ------------------------------------------------------------------ */

/** @brief The envelope sender (without <>; "" = null path); NULL if unset. */
MAILOUT_API const char *mailout_msg_envelope_from(const mailout_msg *m);
/** @brief Number of envelope recipients (To + Cc + Bcc). */
MAILOUT_API size_t mailout_msg_recipient_count(const mailout_msg *m);
/** @brief Address of recipient @p i in the order added; NULL if out of range. */
MAILOUT_API const char *mailout_msg_recipient(const mailout_msg *m, size_t i);
/** @brief DSN settings (notify == 0 when no DSN was requested). */
MAILOUT_API void mailout_msg_dsn(const mailout_msg *m, unsigned *notify, mailout_dsn_ret *ret, const char **envid);
/** @brief Non-zero if any envelope address is not ASCII (needs SMTPUTF8). */
MAILOUT_API int mailout_msg_needs_smtputf8(const mailout_msg *m);

/* ------------------------------------------------------------------ */
/* part tree                                                           */
/* ------------------------------------------------------------------ */

typedef enum mailout_multipart_kind {
    MAILOUT_MULTIPART_MIXED = 0,
    MAILOUT_MULTIPART_ALTERNATIVE,
    MAILOUT_MULTIPART_RELATED
} mailout_multipart_kind;

/**
 * @brief Create a multipart container.
 * @param parent a multipart to append to, or NULL to make it the message
 *        body (MAILOUT_E_STATE if the body is already set).
 * Only multiparts count towards MAILOUT_MAX_DEPTH: a chain of that many
 * multiparts is allowed, and leaves may go into the deepest one. A
 * multipart must get at least one part before reading (RFC 2046 §5.1.1;
 * else mailout_msg_read_start() fails with MAILOUT_E_STATE).
 * Boundaries are "=_" and 24 random characters, distinct per multipart,
 * and drawn again where a message/... part inside has a line that starts
 * with "--" and the boundary (see mailout_part_set_encoding()).
 * @return MAILOUT_OK, MAILOUT_E_INVAL (parent is not a multipart of this
 *         message), MAILOUT_E_LIMIT (deeper than MAILOUT_MAX_DEPTH),
 *         MAILOUT_E_STATE, MAILOUT_E_NOMEM, MAILOUT_E_UNSUPPORTED
 *         (MAILOUT_ENABLE_MIME is 0).
 */
MAILOUT_API mailout_status mailout_part_new_multipart(mailout_msg *m, mailout_part *parent,
                                                      mailout_multipart_kind kind, mailout_part **out);

/**
 * @brief Create a leaf part (empty text/plain until a source is set).
 * @param parent as for mailout_part_new_multipart().
 */
MAILOUT_API mailout_status mailout_part_new(mailout_msg *m, mailout_part *parent, mailout_part **out);

/**
 * @brief Body from a caller buffer, borrowed (not copied): see the file
 * comment. The part setters below return MAILOUT_E_INVAL when called on a
 * multipart (except Content-ID and extra fields) and replace an earlier
 * source.
 */
MAILOUT_API mailout_status mailout_part_set_data(mailout_part *p, const void *data, size_t len);

/**
 * @brief Body from a file, opened through the env's file hooks when the
 * reader gets there (and once more by the scan for text types: the hooks
 * must not return MAILOUT_AGAIN then, it counts as MAILOUT_E_FILE). Sets the
 * filename to the path's last component unless one was set with
 * mailout_part_set_filename(). The size from open() must match the bytes
 * read (else MAILOUT_E_SOURCE: the file changed).
 */
MAILOUT_API mailout_status mailout_part_set_file(mailout_part *p, const char *path);

/**
 * Producer callback: fill @p buf (up to @p cap bytes, cap >= 1) and set
 * *produced. Return
 *   MAILOUT_OK    with *produced > 0;
 *   MAILOUT_AGAIN with *produced == 0: no data yet, call again later (the
 *                 reader returns MAILOUT_AGAIN to its caller);
 *   MAILOUT_DONE  end of data (*produced bytes, possibly 0, are the last);
 *   negative      failure: the reader fails with MAILOUT_E_SOURCE and never
 *                 produces the end of the message.
 */
typedef mailout_status (*mailout_producer_fn)(void *ctx, unsigned char *buf, size_t cap, size_t *produced);

/** Rewind callback: start the data again from its first byte. */
typedef mailout_status (*mailout_rewind_fn)(void *ctx);

/**
 * @brief Body from a producer callback.
 * @param size the exact number of bytes it will produce, or
 *        MAILOUT_SIZE_UNKNOWN. A producer that produces a different number
 *        of bytes than declared fails the reader with MAILOUT_E_SOURCE.
 * @param rewind NULL if the data can be produced only once (then the
 *        message can be read only once, and text is encoded
 *        quoted-printable since it cannot be scanned first). With a
 *        rewind, a text producer with AUTO encoding (or a message/...
 *        producer: AUTO, or any encoding inside a multipart) is
 *        scanned by the first mailout_msg_read_start() or mailout_msg_size():
 *        it is called until MAILOUT_DONE, then rewound, and the encoding is
 *        chosen from what it produced like for a buffer (so it must produce
 *        the same bytes every time; 7bit/8bit content is checked again as
 *        it is sent, MAILOUT_E_SOURCE if it changed). What the scan found is
 *        kept: later reads are not scanned again and make the same choice.
 *        read_start cannot wait, so if the producer returns MAILOUT_AGAIN
 *        during the scan, the scan stops and the part is quoted-printable
 *        (for good, so every read gives the same bytes) as without rewind.
 *        A producer that fails, or produces more or fewer bytes than
 *        declared, during the scan fails read_start with MAILOUT_E_SOURCE
 *        (the next read_start scans again).
 */
MAILOUT_API mailout_status mailout_part_set_producer(mailout_part *p, mailout_producer_fn fn, mailout_rewind_fn rewind,
                                                     void *ctx, uint64_t size);

/**
 * @brief Media type "type/subtype" (tokens per RFC 2045 §5.1, no
 * parameters). Default text/plain. "text/..." bodies are treated as text:
 * line endings normalised to CRLF when sent 7bit, 8bit or quoted-printable
 * (base64 sends the bytes as they are). "message/..." bodies (RFC 2046
 * §5.2) are never quoted-printable or base64: see mailout_part_set_encoding().
 * "multipart/..." is refused: use mailout_part_new_multipart().
 * @return MAILOUT_OK, MAILOUT_E_HEADER (syntax, controls), MAILOUT_E_LIMIT
 *         (longer than MAILOUT_MAX_MEDIA_TYPE_LEN), MAILOUT_E_NOMEM.
 */
MAILOUT_API mailout_status mailout_part_set_type(mailout_part *p, const char *media_type);

/** @brief charset parameter for "text/..." types (token of at most 40; else
 * MAILOUT_E_HEADER / MAILOUT_E_LIMIT); default "utf-8". */
MAILOUT_API mailout_status mailout_part_set_charset(mailout_part *p, const char *charset);

typedef enum mailout_disposition { MAILOUT_DISPOSITION_NONE = 0, MAILOUT_INLINE, MAILOUT_ATTACHMENT } mailout_disposition;

/** @brief Content-Disposition (written when not NONE or when a filename is
 * set; a filename with NONE is written as "attachment"). */
MAILOUT_API mailout_status mailout_part_set_disposition(mailout_part *p, mailout_disposition d);

/**
 * @brief File name (UTF-8). Only the last path component is kept ('/' and
 * '\\' separate components). Written as filename="..." (quoted, escaped)
 * when short printable ASCII without "=?", else as RFC 2231 filename*=
 * (with continuations for long names).
 * @return MAILOUT_OK, MAILOUT_E_HEADER (controls; empty, "." or ".." last
 *         component), MAILOUT_E_UTF8, MAILOUT_E_LIMIT (component longer
 *         than MAILOUT_MAX_FILENAME_LEN), MAILOUT_E_NOMEM.
 */
MAILOUT_API mailout_status mailout_part_set_filename(mailout_part *p, const char *name);

/** @brief Content-ID "<id@host>" (with the brackets; printable ASCII, one
 * '@', at most 250 characters; else MAILOUT_E_HEADER / MAILOUT_E_LIMIT).
 * Message-IDs follow the same rules. */
MAILOUT_API mailout_status mailout_part_set_content_id(mailout_part *p, const char *cid);

typedef enum mailout_encoding {
    MAILOUT_ENC_AUTO = 0, /**< chosen when reading starts, see below */
    MAILOUT_ENC_7BIT,
    MAILOUT_ENC_8BIT,
    MAILOUT_ENC_QP,
    MAILOUT_ENC_BASE64
} mailout_encoding;

/**
 * @brief Force a Content-Transfer-Encoding.
 *
 * AUTO chooses per part: non-text types → base64; text from a producer
 * without rewind (which cannot be read twice), or whose scan met
 * MAILOUT_AGAIN (see mailout_part_set_producer()) → quoted-printable; other
 * text (buffers, files, producers with rewind) is scanned first: NUL or
 * other controls (DEL included) → base64; lines > 998, 8-bit bytes without
 * 8BITMIME, or a line starting "--=_" (could be mistaken for a boundary) →
 * quoted-printable; else 7bit (or 8bit with 8-bit bytes and 8BITMIME).
 * 7bit/8bit content is checked again while it is sent; if a file or
 * producer changed since the scan the reader fails with MAILOUT_E_SOURCE.
 * Forcing 7bit/8bit on data that breaks its rules makes the reader fail
 * (MAILOUT_E_8BIT / MAILOUT_E_LINE_TOO_LONG / MAILOUT_E_INVAL for NUL or,
 * inside a multipart, a line starting "--=_") rather than send something
 * invalid.
 *
 * "message/..." types (message/rfc822, message/global, ...) may only be
 * 7bit or 8bit (RFC 2046 §5.2.1, RFC 6532 §3.5): forcing QP or base64 on
 * one is refused with MAILOUT_E_INVAL (here, or by read_start if the type
 * is set after the encoding). AUTO gives 7bit, or 8bit when the content
 * has 8-bit bytes and the reader has MAILOUT_READ_8BIT (a producer that
 * cannot be scanned: 8bit whenever the reader has MAILOUT_READ_8BIT);
 * message/partial and message/external-body are always 7bit (RFC 2046
 * §5.2.2, §5.2.3). Content that does not fit fails the reader as it is
 * sent, as for a forced 7bit/8bit: MAILOUT_E_8BIT (8-bit bytes without
 * 8BITMIME), MAILOUT_E_LINE_TOO_LONG (a line > 998), MAILOUT_E_INVAL (NUL).
 * Other controls are allowed (RFC 2045 §2.7). Line breaks are normalised
 * to CRLF, as for text.
 * Inside a multipart, the content goes as it is, so lines starting "--=_"
 * are fine (a message made by mailout can be forwarded) except one that
 * starts with a delimiter of an enclosing multipart: "--" and the boundary
 * of any ancestor, whatever follows (RFC 2046 §5.1.1: parsers need no
 * more). Content that can be scanned (buffers, files, producers with
 * rewind; forced 7bit/8bit too) is scanned by read_start, and the
 * boundaries around a part whose content has such a line are drawn again
 * (only until they are kept: see mailout_msg_read_start()). Every
 * message/... part is also checked as it is sent, which is all there is
 * for a producer without rewind, one that said MAILOUT_AGAIN during its
 * scan, or one scanned before the boundaries around it were drawn again
 * (producers are scanned once): such a line fails the reader with
 * MAILOUT_E_INVAL, and the end of the message is never produced.
 * @return MAILOUT_OK, MAILOUT_E_INVAL (unknown value; QP or base64 on a
 *         message/... part), MAILOUT_E_UNSUPPORTED (QP without
 *         MAILOUT_ENABLE_QP), MAILOUT_E_STATE.
 */
MAILOUT_API mailout_status mailout_part_set_encoding(mailout_part *p, mailout_encoding enc);

/** @brief Add a header field to a part (same rules as mailout_msg_add_header). */
MAILOUT_API mailout_status mailout_part_add_header(mailout_part *p, const char *name, const char *value);

/* ------------------------------------------------------------------ */
/* reading                                                             */
/* ------------------------------------------------------------------ */

/** Reader flags. */
#define MAILOUT_READ_SMTP 1u /**< SMTP DATA bytes: dot-stuffed, ending with ".\r\n" */
#define MAILOUT_READ_8BIT 2u /**< the server takes 8BITMIME: 8-bit text may stay 8bit */

/**
 * @brief Prepare to read from the first byte.
 *
 * Freezes the message (setters then return MAILOUT_E_STATE), fills in Date
 * and Message-ID if absent, chooses boundaries and encodings (scanning text
 * buffers and files every time, and text producers with rewind the first
 * time: see mailout_part_set_producer()), and rewinds everything. It never
 * returns MAILOUT_AGAIN: a producer that says AGAIN during its scan makes
 * its part quoted-printable. May be called again to read
 * the message again (MAILOUT_E_STATE if a producer without rewind was
 * already read from).
 *
 * Without MAILOUT_READ_SMTP the bytes are the message itself (what a dry
 * run prints, what BDAT sends); with it they are the DATA stream: the same
 * bytes dot-stuffed, then ".\r\n". Either way the message ends with CRLF:
 * a single-part body that does not gets a CRLF added (7bit/8bit: the body
 * gains a final line break; quoted-printable: a soft line break, so the
 * content is unchanged). Date, Message-ID and boundaries are made by the
 * first successful call and kept, so every read gives the same bytes.
 * @return MAILOUT_OK, MAILOUT_E_INVAL (unknown flags), MAILOUT_E_STATE (no
 *         sender, no recipient, no clock and no date, no randomness where
 *         needed, an empty multipart, a producer without rewind already
 *         read), MAILOUT_E_FILE (a text file cannot be scanned),
 *         MAILOUT_E_SOURCE (a rewind failed; a producer failed or broke
 *         its declared size during the scan; once boundaries are kept,
 *         message/... content that now has a line starting with a
 *         delimiter around it), MAILOUT_E_INVAL (QP or base64 forced on a
 *         message/... part), MAILOUT_E_INTERNAL (the random source keeps
 *         giving colliding or repeated boundaries). A first call that fails
 *         leaves the message unfrozen, so it can be fixed.
 */
MAILOUT_API mailout_status mailout_msg_read_start(mailout_msg *m, unsigned flags);

/**
 * @brief Produce the next bytes into @p buf (room @p cap >= 1).
 *
 * *out_len always receives the number of valid bytes written, whatever the
 * return value:
 *   MAILOUT_OK     more to come; call again;
 *   MAILOUT_AGAIN  a producer has no data now; call again later;
 *   MAILOUT_DONE   the message is complete (these are its last bytes);
 *   negative       failure (sticky): MAILOUT_E_SOURCE, MAILOUT_E_FILE,
 *                  MAILOUT_E_8BIT, MAILOUT_E_LINE_TOO_LONG, MAILOUT_E_INVAL.
 *                  The end of the message (and with MAILOUT_READ_SMTP the
 *                  terminator) is never produced after a failure.
 * After MAILOUT_DONE, further calls return MAILOUT_DONE with no bytes.
 * The output for a given message and flags is the same for every sequence
 * of window sizes. After a failure the bytes produced are a prefix of that
 * output; how long a prefix depends on the windows.
 * @return additionally MAILOUT_E_INVAL for bad arguments (cap 0) and
 *         MAILOUT_E_STATE without a successful mailout_msg_read_start().
 */
MAILOUT_API mailout_status mailout_msg_read(mailout_msg *m, unsigned char *buf, size_t cap, size_t *out_len);

/**
 * @brief Exact number of bytes mailout_msg_read() will produce with @p flags.
 *
 * Runs the same code as reading, over buffers and files (files are read,
 * except base64 parts whose size is known); producers count only when
 * base64-encoded with a declared size (a text producer with rewind may be
 * called by its one-time scan, see mailout_part_set_producer()). Call before reading or after DONE:
 * it leaves the message ready to read from its first byte.
 * @return MAILOUT_OK, MAILOUT_E_SIZE_UNKNOWN (a producer's size cannot be
 *         known without consuming it), or what read_start/read return.
 */
MAILOUT_API mailout_status mailout_msg_size(mailout_msg *m, unsigned flags, uint64_t *size);

/**
 * @brief Non-zero if, as prepared by the last read_start/size, the body
 * carries 8-bit data (so MAIL FROM needs BODY=8BITMIME).
 */
MAILOUT_API int mailout_msg_is_8bit(const mailout_msg *m);

#ifdef __cplusplus
}
#endif

#endif /* MAILOUT_MESSAGE_H */

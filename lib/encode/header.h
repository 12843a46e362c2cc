/*
 * Internal (not installed): header field text for the message layer.
 *
 *   - folding (RFC 5322 §2.2.3): a column tracker that writes each token
 *     either on the current line or, when it would pass 78 columns, on a
 *     continuation line starting with one space;
 *   - unstructured text and display names (RFC 2047 encoded-words "Q" or
 *     "B", charset utf-8, each at most 75 characters, split only between
 *     UTF-8 code points);
 *   - MIME parameters (RFC 2045 quoted-string, RFC 2231 filename*= with
 *     continuations).
 *
 * Everything is produced one "unit" at a time (a token with the white
 * space or fold before it) into a mailout_hunit, so a header field of any
 * length is streamed through a small buffer: the iterators below are the
 * whole state. Text the unit can point at (words of plain text,
 * addresses, names, caller-supplied IDs and types) is borrowed, not
 * copied; only what is made here (encoded-words, quoted strings,
 * parameters, folds) is built in the unit's buffer.
 *
 * Input text is expected to be validated by the caller (no controls other
 * than TAB, valid UTF-8: see mailout_utf8_check); on invalid UTF-8 a stray
 * byte is treated as a one-byte code point, never read past the end.
 *
 * Line lengths: a line holds at most 78 characters unless a single token is
 * longer (a plain word of up to MAILOUT_HDR_LONG_WORD characters, an
 * address, a field name).
 */
#ifndef MAILOUT_ENCODE_HEADER_H
#define MAILOUT_ENCODE_HEADER_H

#include <stddef.h>

#include <mailout/status.h>

/** Target line length (RFC 5322 §2.1.1 "SHOULD"). */
#define MAILOUT_HDR_LINE 78
/** Longest encoded-word (RFC 2047 §2). */
#define MAILOUT_HDR_WORD_MAX 75
/** Longest plain word kept as is when long words are allowed. */
#define MAILOUT_HDR_LONG_WORD 250
/** Room a unit's buffer must have: the longest unit built here is a
 *  parameter, ";" + CRLF SP + 76 characters (81); encoded-words are
 *  shorter. Without MIME (no parameters, no encoded-words) it is the
 *  message layer's Date, CRLF SP + 31 characters built at
 *  MAILOUT_HDR_TOK_AT (34): quoted strings borrow their text. */
#define MAILOUT_HDR_UNIT_MAX (MAILOUT_ENABLE_MIME ? 84 : 34)

/** Where a token may be built inside the unit's buffer (at
 *  buf + len + MAILOUT_HDR_TOK_AT) before it is put: the fold written
 *  ahead of it is at most 3 bytes (CRLF SP). Building in place keeps token
 *  buffers off the stack. */
#define MAILOUT_HDR_TOK_AT 3

/** Column of the line being written (bytes since the last CRLF). */
typedef struct mailout_hfold {
    unsigned col;
} mailout_hfold;

/**
 * One unit: buf[0 .. at), then the borrowed ext[0 .. ext_len), then
 * buf[at .. len). Borrowed bytes must stay valid until the unit is written
 * out. The producer of a unit starts from len = at = ext_len = 0.
 */
typedef struct mailout_hunit {
    char *buf; /* MAILOUT_HDR_UNIT_MAX bytes */
    const char *ext;
    size_t ext_len;
    unsigned short len;
    unsigned short at;
} mailout_hunit;

/** How a token is joined to what precedes it. */
enum {
    MAILOUT_HFWS_NONE = 0, /* glued on, never folded before (";", ",") */
    MAILOUT_HFWS_SPACE,    /* one space, or CRLF + space when it does not fit */
    MAILOUT_HFWS_INLINE,   /* token starts with its own WSP: CRLF inserted before it when it does not fit */
    MAILOUT_HFWS_BORROW = 4 /* flag: the unit points at the token instead of copying it */
};

/**
 * Append the white space (or fold) that joins a token of @p n bytes by
 * @p fws, and count the token's columns: its bytes follow with
 * mailout_hunit_add() / mailout_hunit_ext(). A fold happens only when
 * something other than the continuation's leading space is already on the
 * line.
 */
void mailout_hunit_fold(mailout_hunit *u, mailout_hfold *f, size_t n, int fws);

/** Append @p n bytes as they are (columns not counted). @p s may lie in
 *  the unit's own buffer, ahead of the end (a token built in place). */
void mailout_hunit_add(mailout_hunit *u, const char *s, size_t n);

/** Borrow @p n bytes at the current end of the unit (once per unit). */
void mailout_hunit_ext(mailout_hunit *u, const char *s, size_t n);

/**
 * mailout_hunit_fold() then the token itself: copied, or borrowed with
 * MAILOUT_HFWS_BORROW in @p fws. A copied @p tok may lie in the unit's
 * buffer at or after buf + len + MAILOUT_HDR_TOK_AT.
 */
void mailout_hunit_put(mailout_hunit *u, mailout_hfold *f, const char *tok, size_t n, int fws);

/**
 * Check UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF) and the
 * characters allowed in header text.
 * @param allow_tab TAB is accepted (header values) or not (display names).
 * @return MAILOUT_OK, MAILOUT_E_HEADER (C0 control, DEL, or TAB when not
 *         allowed), MAILOUT_E_UTF8.
 */
mailout_status mailout_utf8_check(const char *s, size_t len, int allow_tab);

/*
 * Whether @p addr (@p len bytes) is an address the envelope and the header
 * fields both take (addr.c), 1 or 0: a local part of at most 64 bytes,
 * either a dot-string (RFC 5321 Atom / RFC 5322 atext and UTF-8, single
 * dots between non-empty atoms) or a non-empty quoted string (no '<' or
 * '>', escaped or not, which lax servers take for the end of the path;
 * quoted pairs of printable ASCII), never an RFC 2047 encoded-word ("=?"),
 * then '@' and a domain of dot-separated labels of 1..63 letters, digits,
 * '-' (not at either end) and UTF-8, or an address literal of letters,
 * digits, '.', ':' and '-' in brackets. At
 * most MAILOUT_MAX_ADDRESS_LEN bytes, valid UTF-8, no controls or DEL
 * anywhere: nothing in it can end a command or a header line.
 */
int mailout_addr_ok(const char *addr, size_t len);

/** Length of the UTF-8 sequence starting at s[0] (1 for a stray byte), clipped to @p avail. */
size_t mailout_utf8_seq_len(const unsigned char *s, size_t avail);

/* ---- text: unstructured fields and display names ---------------------- */

#define MAILOUT_HTEXT_PHRASE 1u     /* a display name: quoted-string or phrase-safe encoded-words */
#define MAILOUT_HTEXT_LONG_WORDS 2u /* plain words up to MAILOUT_HDR_LONG_WORD stay plain (custom fields) */

/** Text iterator. Fields are private to header.c. */
typedef struct mailout_htext {
    const unsigned char *s;
    size_t len;
    size_t pos;
    unsigned char mode; /* how the text is written, chosen by init */
    unsigned char first;
} mailout_htext;

/**
 * Start writing @p len bytes of text, for a field whose name (and colon)
 * end at column @p col. The whole value is written plain (folded at its
 * own white space; a display name as one quoted-string) when it is
 * printable ASCII, has no "=?", does not start or end with white space and
 * all its words fit; otherwise it is written entirely as encoded-words (Q
 * unless that is more than twice as long as B), so decoding gives back
 * exactly the input, spaces included. The first unit of an unstructured
 * value is never folded away from the field name (readers would keep the
 * white space of that fold as part of the value).
 */
void mailout_htext_init(mailout_htext *t, const char *s, size_t len, unsigned flags, unsigned col);

/** Append the next unit (with the white space before it) to @p u; 0 when done. */
int mailout_htext_next(mailout_htext *t, mailout_hfold *f, mailout_hunit *u);

/**
 * Without MIME (MAILOUT_ENABLE_MIME 0) there are no encoded-words: text is
 * accepted only if mailout_htext_init() with the same arguments would write
 * it plain (printable ASCII, no "=?", no white space at either end, words
 * that fit a line; a display name that fits one quoted-string).
 * @return MAILOUT_OK (always with MIME), or MAILOUT_E_UNSUPPORTED.
 */
mailout_status mailout_htext_check(const char *s, size_t len, unsigned flags, unsigned col);

/** Non-zero if the text is written as encoded-words. */
int mailout_htext_encoded(const mailout_htext *t);

/* ---- MIME parameters (only with MAILOUT_ENABLE_MIME) --------------------- */

/** Parameter iterator. Fields are private to header.c. */
typedef struct mailout_hparam {
    const char *name;
    const unsigned char *s;
    unsigned short len; /* values are file names: < 4096 bytes */
    unsigned short pos;
    unsigned short seg;
    unsigned char mode;
} mailout_hparam;

/**
 * Start writing parameter @p name (a short token such as "filename") with
 * value @p s: as name="value" (quotes and backslashes escaped) when the
 * value is printable ASCII and the whole fits on one line, else as RFC 2231
 * name*=utf-8''%XX.. or, when that does not fit on one line either, as
 * continuations name*0*=utf-8''..; name*1*=..; each line at most 78, %XX
 * triples and code points never split. @p len is below 65536.
 */
void mailout_hparam_init(mailout_hparam *p, const char *name, const char *s, size_t len);

/** Append the next unit ("; " or ";CRLF " and one segment) to @p u; 0 when done. */
int mailout_hparam_next(mailout_hparam *p, mailout_hfold *f, mailout_hunit *u);

#endif /* MAILOUT_ENCODE_HEADER_H */

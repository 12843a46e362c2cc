/*
 * mailout — compile-time configuration: the one place for limits and
 * feature switches.
 *
 * A firmware build overrides any of these by defining MAILOUT_CONFIG_FILE
 * (e.g. -DMAILOUT_CONFIG_FILE='"my_mailout_config.h"') and defining the
 * macros it wants to change in that file, or by passing them with -D.
 * Everything not defined gets the default below. Invalid values stop the
 * build with #error instead of misbehaving at run time.
 *
 * Feature switches are 0 (compiled out) or 1 (compiled in). A compiled-out
 * feature makes its API functions return MAILOUT_E_UNSUPPORTED; the API
 * itself and the layout of public structs never change with the
 * configuration (so the Linux shared library has one ABI).
 *
 * Limits bound what the library accepts from the caller and from the
 * server. They are never silently truncated: exceeding one gives
 * MAILOUT_E_LIMIT (caller input) or MAILOUT_E_REPLY_TOO_LONG (server input).
 */
#ifndef MAILOUT_CONFIG_DEFAULTS_H
#define MAILOUT_CONFIG_DEFAULTS_H

#ifdef MAILOUT_CONFIG_FILE
#include MAILOUT_CONFIG_FILE
#endif

/* ---- message limits -------------------------------------------------- */

/** Recipients (To + Cc + Bcc together) per message. */
#ifndef MAILOUT_MAX_RECIPIENTS
#define MAILOUT_MAX_RECIPIENTS 100
#endif

/** Extra caller-supplied header fields per message or per part. */
#ifndef MAILOUT_MAX_HEADERS
#define MAILOUT_MAX_HEADERS 32
#endif

/** Nesting depth of the part tree (the root multipart counts as 1). */
#ifndef MAILOUT_MAX_DEPTH
#define MAILOUT_MAX_DEPTH 8
#endif

/** Length of an envelope path (RFC 5321 §4.5.3.1.3: 256 including <>). */
#ifndef MAILOUT_MAX_ADDRESS_LEN
#define MAILOUT_MAX_ADDRESS_LEN 254
#endif

/** Length of a display name (before any encoding). */
#ifndef MAILOUT_MAX_DISPLAY_NAME_LEN
#define MAILOUT_MAX_DISPLAY_NAME_LEN 128
#endif

/** Length of a header field name. */
#ifndef MAILOUT_MAX_HEADER_NAME_LEN
#define MAILOUT_MAX_HEADER_NAME_LEN 76
#endif

/** Length of a header field value or Subject (before any encoding). */
#ifndef MAILOUT_MAX_HEADER_VALUE_LEN
#define MAILOUT_MAX_HEADER_VALUE_LEN 2048
#endif

/** Length of an attachment file name (before any encoding). */
#ifndef MAILOUT_MAX_FILENAME_LEN
#define MAILOUT_MAX_FILENAME_LEN 255
#endif

/** Length of a media type such as "application/octet-stream". */
#ifndef MAILOUT_MAX_MEDIA_TYPE_LEN
#define MAILOUT_MAX_MEDIA_TYPE_LEN 127
#endif

/**
 * Input staging buffer of the message reader: file and producer sources are
 * read into it, then encoded. Buffer sources bypass it (no copy). Larger
 * means fewer source calls; must be at least 4. It is part of every
 * mailout_msg (shared with the header's staging, so below about 84 bytes
 * a smaller value saves nothing): 256 bytes where pointers are 32 bits or less
 * (microcontrollers), 4104 (72 lines of base64 input) on hosts, where it
 * cuts the sender's CPU time for a large attachment by about a quarter.
 */
#ifndef MAILOUT_READER_INBUF_SIZE
#include <stdint.h>
#if UINTPTR_MAX > 0xFFFFFFFFu
#define MAILOUT_READER_INBUF_SIZE 4104
#else
#define MAILOUT_READER_INBUF_SIZE 256
#endif
#endif

/* ---- SMTP limits ----------------------------------------------------- */

/** Longest reply line accepted, CRLF included (RFC 5321 requires >= 512). */
#ifndef MAILOUT_REPLY_LINE_MAX
#define MAILOUT_REPLY_LINE_MAX 1024
#endif

/** Lines in one (multi-line) reply. */
#ifndef MAILOUT_REPLY_LINES_MAX
#define MAILOUT_REPLY_LINES_MAX 128
#endif

/** Total bytes of one reply. */
#ifndef MAILOUT_REPLY_TOTAL_MAX
#define MAILOUT_REPLY_TOTAL_MAX 16384
#endif

/** Reply text kept for error reports (the rest is counted, not stored). */
#ifndef MAILOUT_REPLY_TEXT_MAX
#define MAILOUT_REPLY_TEXT_MAX 128
#endif

/**
 * Receive buffer of an SMTP session (mailout_smtp_in_buf()): replies are
 * parsed as they stream through it, so it bounds only how much one read
 * may deliver, never the length of a reply line. Larger means fewer reads.
 * The engine reuses the same memory while it holds no received bytes (a
 * command's trace copy, SASL working memory), so with MAILOUT_ENABLE_TRACE
 * it takes at least MAILOUT_COMMAND_MAX bytes, and about 300 with
 * SCRAM-SHA-256, whatever this value.
 */
#ifndef MAILOUT_SMTP_INBUF_SIZE
#define MAILOUT_SMTP_INBUF_SIZE 512
#endif

/**
 * Longest SASL challenge (the base64 text of a 334 reply) an AUTH exchange
 * accepts; a longer one cancels the exchange with "*" (RFC 4954 §4).
 * LOGIN's prompts are about 12 characters and CRAM-MD5's about 60;
 * SCRAM-SHA-256's server-first message needs about 300, so keep 512 with
 * SCRAM. Decoded in place: this is the whole cost.
 */
#ifndef MAILOUT_SASL_CHALLENGE_MAX
#define MAILOUT_SASL_CHALLENGE_MAX 512
#endif

/** Longest command line the engine will send, CRLF included (RFC 5321: 512). */
#ifndef MAILOUT_COMMAND_MAX
#define MAILOUT_COMMAND_MAX 512
#endif

/* ---- feature switches (0 = compiled out, 1 = compiled in) ------------- */

/*
 * Small code: leave out the fast paths that only repeat what the general
 * path does (base64 straight from input to output, the line filter's runs
 * of plain bytes, ...). The bytes produced are identical; only speed and
 * size differ. On by default when the compiler optimises for size (-Os,
 * -Oz), as firmware builds do; hosted builds keep the fast paths.
 */
#ifndef MAILOUT_SMALL
#ifdef __OPTIMIZE_SIZE__
#define MAILOUT_SMALL 1
#else
#define MAILOUT_SMALL 0
#endif
#endif

/*
 * MIME off: one body part only (mailout_part_new() with parent NULL, from a
 * buffer, file or producer; text/plain unless set otherwise), written with
 * MIME-Version, Content-Type and Content-Transfer-Encoding. Refused with
 * MAILOUT_E_UNSUPPORTED: multiparts and child parts, dispositions and file
 * names, and header text that would need RFC 2047 encoding (non-ASCII,
 * "=?", white space at either end, words too long to fold) in Subject,
 * display names and added fields. No content scan: a text buffer is 7bit
 * unless it has 8-bit bytes; 8-bit text, files and producers are 8bit with
 * 8BITMIME, else quoted-printable (base64 without QP); the reader still
 * fails on content that breaks 7bit/8bit rules (NUL, lines > 998).
 */
#ifndef MAILOUT_ENABLE_MIME /* multipart trees, attachments, RFC 2047/2231 */
#define MAILOUT_ENABLE_MIME 1
#endif
/* QP off: mailout_qp_init/encode and forcing MAILOUT_ENC_QP return
 * MAILOUT_E_UNSUPPORTED; text that would be QP is sent base64. */
#ifndef MAILOUT_ENABLE_QP /* quoted-printable encoder */
#define MAILOUT_ENABLE_QP 1
#endif
#ifndef MAILOUT_ENABLE_PIPELINING
#define MAILOUT_ENABLE_PIPELINING 1
#endif
#ifndef MAILOUT_ENABLE_CHUNKING /* BDAT */
#define MAILOUT_ENABLE_CHUNKING 1
#endif
#ifndef MAILOUT_ENABLE_DSN
#define MAILOUT_ENABLE_DSN 1
#endif
#ifndef MAILOUT_ENABLE_AUTH_PLAIN
#define MAILOUT_ENABLE_AUTH_PLAIN 1
#endif
#ifndef MAILOUT_ENABLE_AUTH_LOGIN
#define MAILOUT_ENABLE_AUTH_LOGIN 1
#endif
#ifndef MAILOUT_ENABLE_AUTH_CRAM_MD5
#define MAILOUT_ENABLE_AUTH_CRAM_MD5 1
#endif
#ifndef MAILOUT_ENABLE_AUTH_XOAUTH2
#define MAILOUT_ENABLE_AUTH_XOAUTH2 1
#endif
#ifndef MAILOUT_ENABLE_AUTH_SCRAM_SHA256
#define MAILOUT_ENABLE_AUTH_SCRAM_SHA256 1
#endif

/* Trace off: the trace callback is never called (and may be left set);
 * the session keeps no copy of the command line and the reply line being
 * traced (about 580 bytes of RAM per session). */
#ifndef MAILOUT_ENABLE_TRACE
#define MAILOUT_ENABLE_TRACE 1
#endif

#ifndef MAILOUT_ENABLE_STATUS_TEXT /* names and messages for mailout_strerror/errname */
#define MAILOUT_ENABLE_STATUS_TEXT 1
#endif

/*
 * The protocol extensions below, PIPELINING, CHUNKING and DSN: when one is
 * compiled out its EHLO keyword is not looked for, so mailout_smtp_caps()
 * does not report it either.
 *
 * STARTTLS off (a firmware without TLS, or with TLS under the transport
 * from the first byte): mailout_smtp_new() refuses MAILOUT_TLS_REQUIRED
 * with MAILOUT_E_UNSUPPORTED (never a plaintext session instead), and
 * mailout_smtp_tls_done() returns MAILOUT_E_UNSUPPORTED. MAILOUT_TLS_NONE
 * and MAILOUT_TLS_IMPLICIT (tls_active) work as before; a refused EHLO
 * falls back to HELO on a plaintext connection.
 */
#ifndef MAILOUT_ENABLE_STARTTLS
#define MAILOUT_ENABLE_STARTTLS 1
#endif

/* Enhanced status codes off: replies are never parsed for RFC 3463
 * "class.subject.detail" (the reply's enh_class, enh_subject and
 * enh_detail stay 0, the text keeps the code); decisions never used them. */
#ifndef MAILOUT_ENABLE_ENHANCEDSTATUSCODES
#define MAILOUT_ENABLE_ENHANCEDSTATUSCODES 1
#endif

/* SIZE (RFC 1870) off: MAIL FROM carries no SIZE= and the server's limit
 * is not read (mailout_smtp_caps() gives 0), so a message over it is
 * refused by the server (at MAIL or after the data) instead of with
 * MAILOUT_E_SIZE before anything is sent. */
#ifndef MAILOUT_ENABLE_SIZE
#define MAILOUT_ENABLE_SIZE 1
#endif

/* SMTPUTF8 (RFC 6531) off: addresses are ASCII. mailout_smtp_submit()
 * refuses a job with a UTF-8 address or the smtputf8 flag with
 * MAILOUT_E_UNSUPPORTED; the message layer refuses a UTF-8 address with
 * MAILOUT_E_ADDRESS (mailout_addr_ok takes printable ASCII only). */
#ifndef MAILOUT_ENABLE_SMTPUTF8
#define MAILOUT_ENABLE_SMTPUTF8 1
#endif

/* ---- range checks ---------------------------------------------------- */

#if MAILOUT_MAX_RECIPIENTS < 1 || MAILOUT_MAX_RECIPIENTS > 65535
#error "MAILOUT_MAX_RECIPIENTS must be in 1..65535"
#endif
#if MAILOUT_MAX_HEADERS < 0 || MAILOUT_MAX_HEADERS > 65535
#error "MAILOUT_MAX_HEADERS must be in 0..65535"
#endif
#if MAILOUT_MAX_DEPTH < 1 || MAILOUT_MAX_DEPTH > 64
#error "MAILOUT_MAX_DEPTH must be in 1..64"
#endif
#if MAILOUT_MAX_ADDRESS_LEN < 3 || MAILOUT_MAX_ADDRESS_LEN > 254
#error "MAILOUT_MAX_ADDRESS_LEN must be in 3..254 (RFC 5321 path limit)"
#endif
#if MAILOUT_MAX_HEADER_NAME_LEN < 1 || MAILOUT_MAX_HEADER_NAME_LEN > 900
#error "MAILOUT_MAX_HEADER_NAME_LEN must be in 1..900"
#endif
#if MAILOUT_MAX_HEADER_VALUE_LEN < 1
#error "MAILOUT_MAX_HEADER_VALUE_LEN must be positive"
#endif
#if MAILOUT_MAX_MEDIA_TYPE_LEN < 3 || MAILOUT_MAX_MEDIA_TYPE_LEN > 255
#error "MAILOUT_MAX_MEDIA_TYPE_LEN must be in 3..255"
#endif
#if MAILOUT_READER_INBUF_SIZE < 4
#error "MAILOUT_READER_INBUF_SIZE must be at least 4"
#endif
#if MAILOUT_REPLY_LINE_MAX < 512
#error "MAILOUT_REPLY_LINE_MAX must be at least 512 (RFC 5321 §4.5.3.1.5)"
#endif
#if MAILOUT_REPLY_LINES_MAX < 1
#error "MAILOUT_REPLY_LINES_MAX must be positive"
#endif
#if MAILOUT_REPLY_TOTAL_MAX < MAILOUT_REPLY_LINE_MAX
#error "MAILOUT_REPLY_TOTAL_MAX must be at least MAILOUT_REPLY_LINE_MAX"
#endif
#if MAILOUT_REPLY_TEXT_MAX < 16
#error "MAILOUT_REPLY_TEXT_MAX must be at least 16"
#endif
#if MAILOUT_SMTP_INBUF_SIZE < 16
#error "MAILOUT_SMTP_INBUF_SIZE must be at least 16"
#endif
#if MAILOUT_SASL_CHALLENGE_MAX < 64
#error "MAILOUT_SASL_CHALLENGE_MAX must be at least 64"
#endif
#if MAILOUT_COMMAND_MAX < 512
#error "MAILOUT_COMMAND_MAX must be at least 512 (RFC 5321 §4.5.3.1.4)"
#endif

#endif /* MAILOUT_CONFIG_DEFAULTS_H */

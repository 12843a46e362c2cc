/*
 * The smallest useful firmware configuration: a text body only (no MIME
 * tree, no quoted-printable), AUTH PLAIN and LOGIN, no PIPELINING, BDAT
 * or DSN, numeric status codes only, no protocol trace. Used by footprint.sh for the
 * "minimal" row. Pass it with -Dconfig_file=<absolute path>.
 */
#define MAILOUT_ENABLE_MIME 0
#define MAILOUT_ENABLE_QP 0
#define MAILOUT_ENABLE_PIPELINING 0
#define MAILOUT_ENABLE_CHUNKING 0
#define MAILOUT_ENABLE_DSN 0
#define MAILOUT_ENABLE_AUTH_CRAM_MD5 0
#define MAILOUT_ENABLE_AUTH_XOAUTH2 0
#define MAILOUT_ENABLE_AUTH_SCRAM_SHA256 0
#define MAILOUT_ENABLE_STATUS_TEXT 0
#define MAILOUT_ENABLE_TRACE 0 /* no protocol trace: no command/reply line copies */
#define MAILOUT_MAX_RECIPIENTS 8
#define MAILOUT_MAX_HEADERS 4
#define MAILOUT_MAX_DEPTH 1
/* RAM per session (issue 7: <= 1 KB with a 256 B output buffer): a 16-byte
 * receive buffer (replies stream through it, the parser keeps its state
 * across reads: an EHLO reply takes 10-20 reads instead of one), room for
 * LOGIN's short challenges only, shorter kept reply texts, and a reader
 * input buffer no larger than the header unit it shares memory with (34
 * bytes without MIME: a file or producer is read 34 bytes at a time). The
 * RFC 5321 minimums stay: 512-byte reply lines and commands. */
#define MAILOUT_SMTP_INBUF_SIZE 16
#define MAILOUT_SASL_CHALLENGE_MAX 64
#define MAILOUT_REPLY_TEXT_MAX 64
#define MAILOUT_READER_INBUF_SIZE 34
#define MAILOUT_ENABLE_STARTTLS 0 /* no TLS: MAILOUT_TLS_REQUIRED is refused (E_UNSUPPORTED) */
#define MAILOUT_ENABLE_ENHANCEDSTATUSCODES 0 /* replies keep the code only */
#define MAILOUT_ENABLE_SIZE 0 /* no SIZE= and no early E_SIZE */
#define MAILOUT_ENABLE_SMTPUTF8 0 /* ASCII addresses only */

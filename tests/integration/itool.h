/*
 * itool — the integration tests' client: composes one message (or a
 * series of variants of it) from command-line options and sends it with
 * mailout_send() or, over one connection, mailout_send_jobs(). See
 * itool.c's usage text for the options; the tests in this directory run
 * it against real servers and the scripted peer.
 *
 * Output (stdout), one line per message:
 *   RESULT status=<name> stage=<name> code=<n> enh=<c.s.d> rcpt_ok=<n>
 *          rcpt_failed=<n> bytes=<n> text=<reply text>
 * before it, "RCPT index=<i> code=<n>" for each recipient's reply, and
 * in the jobs mode, "SESSION status=<name>" for the whole session,
 * and for a setter the message API refused (nothing is sent then):
 *   RESULT status=<name> stage=NONE code=0 ... text=refused by <setter>
 * With --dry-run the message bytes (or DATA stream with --dry-run-smtp)
 * are written to stdout instead, and nothing is connected to.
 *
 * Exit status: 0 when every message was accepted, 1 otherwise, 2 for bad
 * usage or a local failure (file missing, out of memory).
 */
#ifndef MAILOUT_ITOOL_H
#define MAILOUT_ITOOL_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/mailout.h>

#define ITOOL_MAX_LIST 64

/* A text body (text/plain or text/html) and how it reaches the library. */
typedef struct itool_text {
    const char *path;       /* file read into memory, or NULL */
    const char *inline_str; /* or the text given on the command line */
    unsigned char *data;    /* the bytes (owned) */
    size_t len;
} itool_text;

/* The body producer of a text part (--producer): serves the text in
 * chunks whose sizes cycle through chunks[] (0 = answer AGAIN once),
 * fails after fail_after bytes when set (see prod_read in itool.c). */
typedef struct itool_producer {
    const unsigned char *data;
    size_t len;
    size_t pos;
    const size_t *chunks;
    size_t nchunks;
    size_t chunk_i;
    size_t next_boundary;
    uint64_t fail_after; /* UINT64_MAX = never */
} itool_producer;

typedef struct itool_opts {
    /* connection */
    const char *host;
    uint16_t port;
    mailout_tls_policy tls;
    const char *cafile;
    const char *server_name;
    const char *ehlo;
    const char *user;
    const char *password;
    const char *oauth_token;
    unsigned auth_mechs;
    int allow_plaintext_auth;
    int no_pipelining;
    int no_chunking;
    uint32_t timeout_ms;
    const char *trace_path;
    /* envelope and header */
    const char *from;
    const char *from_name;
    const char *envelope_from;
    const char *to[ITOOL_MAX_LIST];
    size_t nto;
    const char *cc[ITOOL_MAX_LIST];
    size_t ncc;
    const char *bcc[ITOOL_MAX_LIST];
    size_t nbcc;
    const char *subject;
    const char *headers[ITOOL_MAX_LIST]; /* "Name: value" */
    size_t nheaders;
    const char *message_id;
    int64_t date;
    int have_date;
    uint64_t seed; /* 0 = system randomness */
    /* body */
    itool_text text;
    itool_text html;
    const char *text_type;
    mailout_encoding text_encoding;
    int producer;      /* text through a producer callback */
    int producer_rewind;
    size_t chunks[ITOOL_MAX_LIST];
    size_t nchunks;
    uint64_t fail_after;
    const char *attach[ITOOL_MAX_LIST];
    const char *attach_name[ITOOL_MAX_LIST];
    const char *attach_type[ITOOL_MAX_LIST];
    size_t nattach;
    /* how */
    int dry_run;       /* 1 = message, 2 = DATA stream */
    size_t repeat;     /* jobs mode: this many messages on one connection */
    int sweep;         /* jobs mode: one message per producer split offset */
    const char *raw_mail_from; /* jobs mode: override the job's envelope */
    const char *raw_rcpt;
} itool_opts;

/* itool_args.c */
int itool_parse(itool_opts *o, int argc, char **argv);
void itool_usage(void);

#endif

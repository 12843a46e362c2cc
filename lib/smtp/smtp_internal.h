/*
 * The ESMTP engine's private state, shared by engine.c (buffers, queue,
 * time, errors), session.c (greeting, EHLO, STARTTLS, AUTH), txn.c (MAIL,
 * RCPT, DATA, BDAT, RSET) and cmd.c (command lines and their writer).
 *
 * Commands live in one ring (ops[]): entries in [q_head, q_sent) were
 * written and await their replies, strictly in order (RFC 2920 §3.1);
 * entries in [q_sent, q_tail) are still to be written. A pipelined group
 * is simply several entries queued at once; without PIPELINING a handler
 * queues the next command only after the previous reply.
 */
#ifndef MAILOUT_SMTP_INTERNAL_H
#define MAILOUT_SMTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/encode.h>
#include <mailout/smtp.h>

#include "internal.h"
#include "reply.h"
#include "sasl.h"

/** Commands (and replies awaited for them). */
typedef enum smtp_op {
    OP_GREETING = 0, /* not sent: the server speaks first */
    OP_EHLO,
    OP_HELO,
    OP_STARTTLS,
    OP_AUTH,         /* AUTH mech [initial-response] */
    OP_AUTH_RESP,    /* a response line to a 334 (or "*") */
    OP_RSET,
    OP_MAIL,
    OP_RCPT,         /* arg = recipient index */
    OP_DATA,
    OP_END,          /* not sent as a command: the "." after the data */
    OP_BDAT,         /* a chunk; arg = 1 for the LAST chunk */
    OP_QUIT
} smtp_op;

/* A ring entry: the op in the low 4 bits, its argument above. 8 bits hold
 * every argument (a recipient index, or 0/1) while the recipient limit is
 * below 16, 16 bits below 4096. */
#if MAILOUT_MAX_RECIPIENTS < 16
typedef uint8_t smtp_qent;
#elif MAILOUT_MAX_RECIPIENTS < 4096
typedef uint16_t smtp_qent;
#else
typedef uint32_t smtp_qent;
#endif
#define SMTP_QENT(op, arg) ((smtp_qent)((unsigned)(op) | ((unsigned)(arg) << 4)))
#define SMTP_QOP(e) ((smtp_op)((e) & 15u))
#define SMTP_QARG(e) ((unsigned)((e) >> 4))

/* A pipelined group is RSET + MAIL + RCPT... + DATA. Without PIPELINING
 * each command waits for the previous reply: a handler pops its command
 * before it pushes the next, so the ring holds one entry (a QUIT queued
 * behind a refused greeting, the terminator behind the data, the RSET
 * after a failed job: each follows the reply it answers); 4 leaves room,
 * and smtp_push() fails the session rather than overwrite an entry. */
#if MAILOUT_ENABLE_PIPELINING
#define SMTP_QLEN (MAILOUT_MAX_RECIPIENTS + 8)
typedef uint32_t smtp_qidx;
#else
#define SMTP_QLEN 4
typedef uint8_t smtp_qidx; /* counts modulo 256, a multiple of SMTP_QLEN */
#endif
/* Entries between two ring counters (they count up and wrap). */
#define SMTP_QDIST(from, to) ((smtp_qidx)((to) - (from)))
#define SMTP_BDAT_HDR 24   /* room before a chunk for "BDAT <n> LAST\r\n" */

/** Session phases beyond what the queue says. */
typedef enum smtp_phase {
    PH_RUN = 0,   /* working through the queue */
    PH_TLS,       /* waiting for tls_done() */
    PH_IDLE,      /* ready for submit()/quit() */
    PH_QUIT,      /* QUIT queued or sent */
    PH_DONE       /* finished cleanly */
} smtp_phase;

/** The resumable command writer: a text line (rebuilt for each piece,
 *  see cmd.c; its length comes with every rebuild), then optionally the
 *  base64 of the SASL segments (computed per character), then CRLF. */
typedef struct smtp_writer {
    uint8_t op;          /* the command being written (rebuilt per piece) */
    uint8_t active;
    uint8_t b64;         /* SASL response follows the text */
    uint8_t crlf;        /* CRLF bytes written */
    uint8_t text;        /* the text line is not all written yet */
    uint16_t arg;
    uint16_t pos;        /* text bytes written (< MAILOUT_COMMAND_MAX), then base64 characters */
} smtp_writer;

#if MAILOUT_COMMAND_MAX > 65535
#error "MAILOUT_COMMAND_MAX must be at most 65535"
#endif

/* Whether the transaction uses BDAT / PIPELINING: constant 0 when the
 * feature is compiled out, so its code is dropped as dead. */
#define SMTP_BDAT(s) (MAILOUT_ENABLE_CHUNKING && (s)->t.bdat)
/* Waiting for the TLS handshake after STARTTLS's 220: never without STARTTLS. */
#define SMTP_IN_TLS(s) (MAILOUT_ENABLE_STARTTLS && (s)->phase == PH_TLS)
#define SMTP_PIPELINED(s) (MAILOUT_ENABLE_PIPELINING && (s)->t.pipelined)

/** The message being sent: what the engine's queries (want, deadlines,
 *  failure) look at, valid at any time. */
typedef struct smtp_txn {
    uint8_t active;
    uint8_t pipelined;
    uint8_t bdat;
    uint8_t rset_first;  /* RSET leads the group */
    uint8_t empty_data;  /* 354 with no recipient: send only "." */
    uint8_t body8;       /* BODY=8BITMIME */
    uint8_t smtputf8;    /* SMTPUTF8 parameter */
    /* data phase */
    uint8_t body_on;     /* producing data into the output buffer */
    uint8_t body_again;  /* the source said AGAIN */
    uint8_t body_eof;    /* the source said DONE (the filter holds the rest) */
    mailout_status fail; /* first failure of the transaction, or OK */
    uint16_t rcpt_ok_n, rcpt_bad_n; /* <= MAILOUT_MAX_RECIPIENTS */
    uint16_t rcpt_replied;
    uint64_t size;       /* from body.start(), MAILOUT_SIZE_UNKNOWN if unknown */
    uint64_t data_bytes; /* message bytes taken from the source */
} smtp_txn;

/** AUTH: live from start_auth() until 235 or the session's failure.
 *  A 334's challenge has a copy of its own only with MAILOUT_REPLY_CAPTURE
 *  (HMAC mechanisms, or challenges longer than reply.text); otherwise the
 *  step runs at once on the reply's text (smtp_auth_step). */
typedef struct smtp_auth {
    /* the flags first: short loads on a Cortex-M (offsets < 32) */
    uint8_t steps;          /* challenges answered by the mechanism (saturates) */
    /* bits, so that the state fits 64 bytes without HMAC mechanisms */
    unsigned ir_inline : 1;    /* initial response on the AUTH line */
    unsigned ir_pending : 1;   /* initial response waits for the first 334 */
    unsigned cancelled : 1;    /* "*" sent */
    unsigned step_pending : 1; /* a 334 was answered: run the step (smtp_auth_step) */
#if MAILOUT_REPLY_CAPTURE
    unsigned chal_ok : 1;      /* ... with the decoded challenge */
#endif
    mailout_sasl_out out;
    mailout_sasl_state sasl; /* sasl.mech: the mechanism (MAILOUT_AUTH_*) */
#if MAILOUT_REPLY_CAPTURE
    size_t dlen;            /* decoded challenge in chal, its step pending */
    char chal[MAILOUT_SASL_CHALLENGE_MAX]; /* base64 text of a 334 challenge */
#endif
} smtp_auth;

/* What the engine keeps of mailout_smtp_config: all of it, unless XOAUTH2
 * and SCRAM are compiled out; then the settings it reads, smaller. */
#define SMTP_CFG_COMPACT (!MAILOUT_ENABLE_AUTH_XOAUTH2 && !MAILOUT_ENABLE_AUTH_SCRAM_SHA256)
#if SMTP_CFG_COMPACT
typedef struct smtp_cfg {
    const char *ehlo_name;
    const char *user;
    const char *password;
    uint32_t timeout_ms;
    mailout_smtp_callbacks cb;
    uint8_t tls;                  /* mailout_tls_policy, 0..2 */
    uint8_t auth_mechs;           /* MAILOUT_AUTH_* (5 bits) */
    uint8_t allow_plaintext_auth;
#if MAILOUT_ENABLE_PIPELINING
    uint8_t no_pipelining;
#endif
#if MAILOUT_ENABLE_CHUNKING
    uint8_t no_chunking;
#endif
} smtp_cfg;
/* neither a token nor randomness is of use to the mechanisms built in */
#define SMTP_CFG_TOKEN(c) ((const char *)NULL)
#define SMTP_CFG_RANDOM(c) ((int (*)(void *, void *, size_t))NULL)
#define SMTP_CFG_RANDOM_CTX(c) NULL
#else
typedef mailout_smtp_config smtp_cfg;
#define SMTP_CFG_TOKEN(c) ((c)->oauth_token)
#define SMTP_CFG_RANDOM(c) ((c)->random)
#define SMTP_CFG_RANDOM_CTX(c) ((c)->random_ctx)
#endif

/** What the engine keeps of a job: body.start(), is_8bit() and the
 *  SMTPUTF8 flag are only used by submit(), on the caller's job. */
typedef struct smtp_job {
    const char *mail_from;
    const char *const *rcpt;
    mailout_status (*read)(void *ctx, unsigned char *buf, size_t cap, size_t *got);
    void *ctx;
#if MAILOUT_ENABLE_DSN
    const char *dsn_envid;
    uint8_t dsn_notify;  /* MAILOUT_NOTIFY_* (checked: 4 bits) */
    uint8_t dsn_ret;     /* mailout_dsn_ret */
#endif
    uint16_t rcpt_count; /* <= MAILOUT_MAX_RECIPIENTS <= 65535 */
    uint8_t stuffs;
} smtp_job;

/** Per-transaction data nobody looks at outside a transaction. */
typedef struct smtp_txn_data {
    mailout_line lf;     /* DATA through the line filter (fill_filtered) */
    uint16_t rcpt_code[MAILOUT_MAX_RECIPIENTS];
} smtp_txn_data;

struct mailout_smtp {
    /* The fields used most come first: Thumb-2's 16-bit loads and stores
     * reach bytes below offset 32, halfwords below 64 and words below 128,
     * so on a Cortex-M this order saves hundreds of bytes of code. The
     * 4-byte aligned members sit together between the 8-byte aligned
     * ones: no padding beyond the members' own. */
    mailout_status status; /* sticky */
    uint8_t phase;         /* smtp_phase */
    uint8_t tls_active;
    uint8_t authed;
    uint8_t need_rset;     /* a transaction happened: RSET before the next */
    uint8_t quit_then_fail; /* failure is decided; QUIT goes first (§3.1) */
    uint8_t have_time;
    uint8_t live;          /* which member of u is in use: SMTP_LIVE_* */

    /* command ring */
    smtp_qidx q_head, q_sent, q_tail;
#if !MAILOUT_ENABLE_PIPELINING
    smtp_qent q[SMTP_QLEN]; /* a few bytes: in the gap before t */
#endif

    smtp_txn t;
    /* capabilities of the last EHLO */
    mailout_caps caps;

    /* output: the buffer follows the state (SMTP_OUT) */
    size_t out_cap, out_pos, out_len;

    smtp_cfg cfg;
    smtp_writer w;

    /* the job */
    smtp_job job;

    mailout_reply_parser rp;

#if MAILOUT_ENABLE_PIPELINING
    smtp_qent q[SMTP_QLEN];
#endif
    mailout_allocator alloc; /* of SMTP_ALLOC_SIZE(out_cap) bytes */

    mailout_result result;
    mailout_result failure;

    /* time */
    uint64_t now;
    uint64_t deadline;

    /* input. The receive buffer only holds bytes between in_buf() and
     * in_ack(): a command's trace copy is built in it while out_buf()
     * runs (see cmd.c), and a SASL step works in it at the end of
     * in_ack(), once the read is parsed (smtp_auth_step). */
    union {
        unsigned char in[MAILOUT_SMTP_INBUF_SIZE];
#if MAILOUT_ENABLE_TRACE
        char tline[MAILOUT_COMMAND_MAX]; /* the command as traced */
#endif
        mailout_sasl_work work;
    } io;

    /* EHLO, AUTH and transactions never overlap: EHLO only follows the
     * greeting or TLS, AUTH follows the last EHLO, and every job comes
     * after AUTH. Their working state shares memory. */
    union {
        mailout_ehlo ehlo;
        smtp_auth a;
        smtp_txn_data d;
    } u;
};

/* The engine's one allocation: the state, then the output buffer. */
#define SMTP_HEAD_SIZE ((sizeof(struct mailout_smtp) + 15u) & ~(size_t)15u)
#define SMTP_ALLOC_SIZE(out_cap) (SMTP_HEAD_SIZE + (out_cap))
#define SMTP_OUT(s) ((unsigned char *)(s) + SMTP_HEAD_SIZE)

#define SMTP_LIVE_NONE 0u /* nothing, or the EHLO scanner */
#define SMTP_LIVE_AUTH 1u
#define SMTP_LIVE_TXN 2u

/* engine.c */
void smtp_push(mailout_smtp *s, smtp_op op, unsigned arg);
void smtp_push_sent(mailout_smtp *s, smtp_op op, unsigned arg);
size_t smtp_awaiting(const mailout_smtp *s);
size_t smtp_queue_room(const mailout_smtp *s);
int smtp_awaits(const mailout_smtp *s, smtp_op op);
/* @p r: NULL or the reply being handled (s->rp.reply): replies are parsed
 * into s->failure.reply, so the deciding one needs no copy. */
mailout_status smtp_fail(mailout_smtp *s, mailout_status st, mailout_smtp_stage stage, const mailout_reply *r);
mailout_status smtp_refusal(uint16_t code);
mailout_smtp_stage smtp_op_stage(smtp_op op);
#if MAILOUT_ENABLE_TRACE
void smtp_info(mailout_smtp *s, const char *text);
#else /* no call and no text left in the image */
static inline void smtp_info(mailout_smtp *s, const char *text)
{
    (void)s, (void)text;
}
#endif
void smtp_arm(mailout_smtp *s);

/* cmd.c */
/* Whether every command fits MAILOUT_COMMAND_MAX (>= 512) whatever the
 * job: without DSN's ORCPT and ENVID, the longest is MAIL: "MAIL FROM:<"
 * (11), a path of at most MAILOUT_MAX_ADDRESS_LEN (<= 254), ">", " SIZE="
 * and 20 digits, " BODY=8BITMIME", " SMTPUTF8" and CRLF, 317 bytes; EHLO
 * takes a name of at most 255. Then nothing is measured. */
#define SMTP_LINES_FIT (!MAILOUT_ENABLE_DSN)
mailout_status smtp_check_lengths(mailout_smtp *s);
void smtp_writer_start(mailout_smtp *s, smtp_op op, unsigned arg);
size_t smtp_writer_run(mailout_smtp *s, unsigned char *out, size_t room);
size_t smtp_resp_len(const mailout_sasl_out *o);
unsigned char smtp_b64_char(uint32_t c);
mailout_status smtp_check_job(const mailout_smtp *s, const mailout_job *job, int *utf8);

/* session.c */
void smtp_session_reply(mailout_smtp *s, smtp_op op, const mailout_reply *r, unsigned lines);
void smtp_auth_end(mailout_smtp *s);
void smtp_auth_step(mailout_smtp *s);

/* txn.c */
void smtp_txn_reply(mailout_smtp *s, smtp_op op, unsigned arg, const mailout_reply *r);
size_t smtp_body_fill(mailout_smtp *s, size_t n);
void smtp_txn_abort(mailout_smtp *s, mailout_status why, mailout_smtp_stage stage, const mailout_reply *r);

#endif /* MAILOUT_SMTP_INTERNAL_H */

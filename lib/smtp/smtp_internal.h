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

typedef struct smtp_qent {
    uint8_t op;
    uint16_t arg;
} smtp_qent;

#define SMTP_QLEN (MAILOUT_MAX_RECIPIENTS + 8)
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
 *  see cmd.c), then optionally a base64 stream of SASL segments, then
 *  CRLF. */
typedef struct smtp_writer {
#if MAILOUT_ENABLE_TRACE
    char tline[MAILOUT_COMMAND_MAX]; /* the command as traced */
#endif
    uint8_t op;          /* the command being written (rebuilt per piece) */
    uint8_t active;
    uint8_t b64;         /* SASL response follows the text */
    uint8_t crlf;        /* CRLF bytes written */
    uint16_t arg;
    size_t len, pos;
    mailout_b64 enc;
    unsigned seg;
    size_t segpos;
} smtp_writer;

/* Whether the transaction uses BDAT / PIPELINING: constant 0 when the
 * feature is compiled out, so its code is dropped as dead. */
#define SMTP_BDAT(s) (MAILOUT_ENABLE_CHUNKING && (s)->t.bdat)
#define SMTP_PIPELINED(s) (MAILOUT_ENABLE_PIPELINING && (s)->t.pipelined)

/** The message being sent. */
typedef struct smtp_txn {
    int active;
    int pipelined;
    int bdat;
    int rset_first;      /* RSET leads the group */
    int empty_data;      /* 354 with no recipient: send only "." */
    mailout_status fail; /* first failure of the transaction, or OK */
    uint64_t size;       /* from body.start(), MAILOUT_SIZE_UNKNOWN if unknown */
    int body8;           /* BODY=8BITMIME */
    int smtputf8;        /* SMTPUTF8 parameter */
    size_t rcpt_ok_n, rcpt_bad_n;
    size_t rcpt_sent;
    size_t rcpt_replied;
    /* data phase */
    int body_on;         /* producing data into the output buffer */
    int body_again;      /* the source said AGAIN */
    int body_eof;        /* the source said DONE (stage holds the rest) */
    int end_queued;
    uint64_t data_bytes; /* message bytes taken from the source */      /* terminator / LAST chunk placed in the buffer */
    mailout_line lf;
    size_t st_len, st_pos; /* staging window for the line filter */
} smtp_txn;

struct mailout_smtp {
    mailout_allocator alloc;
    size_t alloc_size;
    mailout_smtp_config cfg;
    mailout_status status; /* sticky */
    smtp_phase phase;
    int tls_active;
    int authed;
    int need_rset;         /* a transaction happened: RSET before the next */

    /* output */
    unsigned char *out;
    size_t out_cap, out_pos, out_len;
    unsigned char *stage; /* body staging for the line filter */
    size_t stage_cap;
    smtp_writer w;

    /* input */
    unsigned char in[MAILOUT_SMTP_INBUF_SIZE];
    mailout_reply_parser rp;
    mailout_ehlo ehlo;
    char chal[MAILOUT_SASL_CHALLENGE_MAX]; /* base64 text of a 334 challenge */

    /* command ring */
    smtp_qent q[SMTP_QLEN];
    uint32_t q_head, q_sent, q_tail;

    /* capabilities of the last EHLO */
    mailout_caps caps;

    /* AUTH */
    mailout_sasl sasl;
    mailout_sasl_out sasl_out;
    unsigned mech;
    int ir_inline;         /* initial response on the AUTH line */
    int ir_pending;        /* initial response waits for the first 334 */
    int auth_cancelled;    /* "*" sent */
    unsigned auth_steps;   /* challenges answered by the mechanism */

    /* time */
    uint64_t now;
    uint64_t deadline;
    uint32_t deadline_dur;
    int have_time;

    /* the job */
    mailout_job job;
    smtp_txn t;
    mailout_result result;
    mailout_result failure;
    int quit_then_fail; /* failure is decided; QUIT goes first (§3.1) */
    uint16_t rcpt_code[MAILOUT_MAX_RECIPIENTS];
};

/* engine.c */
void smtp_push(mailout_smtp *s, smtp_op op, unsigned arg);
void smtp_push_sent(mailout_smtp *s, smtp_op op, unsigned arg);
size_t smtp_awaiting(const mailout_smtp *s);
size_t smtp_queue_room(const mailout_smtp *s);
int smtp_awaits(const mailout_smtp *s, smtp_op op);
mailout_status smtp_fail(mailout_smtp *s, mailout_status st, mailout_smtp_stage stage, const mailout_reply *r);
mailout_status smtp_refusal(uint16_t code);
void smtp_quit_then_fail(mailout_smtp *s, mailout_status st, mailout_smtp_stage stage, const mailout_reply *r);
mailout_smtp_stage smtp_op_stage(smtp_op op);
void smtp_info(mailout_smtp *s, const char *text);
void smtp_arm(mailout_smtp *s);

/* cmd.c */
mailout_status smtp_cmd_build(mailout_smtp *s, smtp_op op, unsigned arg, char *line, size_t *len);
void smtp_writer_start(mailout_smtp *s, smtp_op op, unsigned arg);
void smtp_writer_start_auth(mailout_smtp *s, const char *prefix, int with_response);
size_t smtp_writer_run(mailout_smtp *s, unsigned char *out, size_t room);
mailout_status smtp_check_address(const char *addr, int allow_empty, int *non_ascii);
mailout_status smtp_check_job(const mailout_smtp *s, const mailout_job *job);
int smtp_xtext_len(const char *v, size_t *len);

/* session.c */
void smtp_session_reply(mailout_smtp *s, smtp_op op, const mailout_reply *r, unsigned lines);
size_t smtp_auth_ir_len(const mailout_sasl_out *o);

/* txn.c */
void smtp_txn_reply(mailout_smtp *s, smtp_op op, unsigned arg, const mailout_reply *r);
size_t smtp_body_fill(mailout_smtp *s, size_t n);
void smtp_txn_abort(mailout_smtp *s, mailout_status why, mailout_smtp_stage stage, const mailout_reply *r);

#endif /* MAILOUT_SMTP_INTERNAL_H */

/*
 * Internal to lib/message: the message and part objects, the reader state,
 * and the functions the message's source files share. Not installed.
 */
#ifndef MAILOUT_MSG_INTERNAL_H
#define MAILOUT_MSG_INTERNAL_H

#include "internal.h"

#include <mailout/encode.h>
#include <mailout/message.h>

#include "encode/header.h"

/* Generated boundaries: "=_" + 24 characters from 120 random bits. The
 * "=_" prefix is what mailout_scan's boundary_like looks for, and cannot
 * start a line of QP ('=' is written =3D) or base64 output. */
#define MSG_BOUNDARY_RANDOM 24
#define MSG_BOUNDARY_LEN (2 + MSG_BOUNDARY_RANDOM)
/* Random left part of a generated Message-ID. */
#define MSG_ID_RANDOM 24
/* Longest Message-ID / Content-ID accepted (with the brackets). */
#define MSG_MAX_ID_LEN 250
/* Longest charset name. */
#define MSG_MAX_CHARSET_LEN 40
/* Staging buffer between the generator and the SMTP filter. */
#define MSG_STAGE_SIZE MAILOUT_READER_STAGE_SIZE

/* A copied string and its length (the length is also what release needs). */
typedef struct msg_str {
    char *s;
    size_t len;
} msg_str;

/* A caller-supplied header field. */
typedef struct msg_hdr {
    struct msg_hdr *next;
    msg_str name;
    msg_str value;
} msg_hdr;

typedef struct msg_hdr_list {
    msg_hdr *first;
    msg_hdr *last;
    unsigned count;
} msg_hdr_list;

typedef struct msg_rcpt {
    struct msg_rcpt *next;
    mailout_rcpt_kind kind;
    msg_str addr;
    msg_str name; /* display name; s == NULL if none */
} msg_rcpt;

typedef enum msg_src_kind { SRC_NONE = 0, SRC_DATA, SRC_FILE, SRC_PRODUCER } msg_src_kind;

struct mailout_part {
    mailout_msg *msg;
    mailout_part *parent;
    mailout_part *first_child;
    mailout_part *last_child;
    mailout_part *next;
    unsigned depth;          /* 1 for a top-level part */
    unsigned char multipart; /* a container */
    mailout_multipart_kind mp_kind;

    /* leaf body source */
    msg_src_kind src;
    const unsigned char *data;
    size_t data_len;
    msg_str path;
    mailout_producer_fn produce;
    mailout_rewind_fn rewind;
    void *prod_ctx;
    uint64_t prod_size;
    unsigned char consumed; /* a producer was called since the last rewind */
    unsigned char facts;    /* what the producer's scan found (msg_prepare.c); 0 = not scanned yet */

    /* header facts */
    msg_str type;     /* NULL = text/plain */
    msg_str charset;  /* NULL = utf-8 */
    msg_str filename; /* NULL = none */
    unsigned char filename_from_path;
    msg_str cid;
    mailout_disposition disposition;
    mailout_encoding forced;
    msg_hdr_list headers;

    /* chosen by prepare */
    mailout_encoding enc;
    unsigned char strict; /* message/...: 7bit/8bit whatever the content, errors are the content's */
    char boundary[MSG_BOUNDARY_LEN + 1]; /* "" until generated */
};

/* Where a line of message/... content stands against the delimiters of the
 * multiparts around its part (msg_part.c). */
typedef struct msg_delim {
    const mailout_part *top;  /* the part's parent; NULL: nothing to follow */
    const mailout_part *cand; /* nearest ancestor the line still starts like; NULL: none */
    unsigned char pos;        /* bytes of the line matched so far */
    unsigned char hit;        /* a line started with "--" + an ancestor's boundary */
} msg_delim;

/* What the generator is doing (see msg_reader.c). */
typedef enum msg_phase {
    PH_MSG_FIELDS = 0, /* message header fields */
    PH_PART_FIELDS,    /* Content-* and custom fields of r->part */
    PH_BLANK,          /* empty line ending a header */
    PH_BODY_START,     /* open the leaf's source, start its encoder */
    PH_BODY,           /* leaf content through the encoder */
    PH_FIRST_CHILD,    /* "--B\r\n" before the first child */
    PH_NEXT,           /* leave r->part: next sibling, or close the parent */
    PH_FINAL,          /* the message's last CRLF if missing */
    PH_END             /* nothing more */
} msg_phase;

/* Header field iterator state. */
typedef struct msg_field {
    unsigned index; /* which field of the current header */
    unsigned step;  /* position inside the field */
    unsigned sub;   /* position inside a mailbox */
    mailout_hfold fold;
    mailout_htext text;
    mailout_hparam param;
    const msg_rcpt *rcpt;
    const msg_hdr *hdr;
} msg_field;

typedef struct msg_reader {
    unsigned flags;
    unsigned char active;  /* read_start succeeded */
    unsigned char sizing;  /* counting only (mailout_msg_size) */
    mailout_status error;  /* sticky, MAILOUT_OK if none */
    uint64_t skipped;      /* bytes counted but not generated while sizing */

    /* generator */
    msg_phase phase;
    mailout_part *part;
    msg_field field;
    unsigned char pend[MAILOUT_HDR_UNIT_MAX];
    size_t pend_len, pend_pos;
    unsigned char last[2]; /* last two bytes generated */
    unsigned char gen_done;
    unsigned char finished; /* DONE was returned */

    /* body of the current leaf */
    union {
        mailout_b64 b64;
        mailout_qp qp;
        mailout_line line;
    } enc;
    union {
        mailout_scan watch; /* re-check of 7bit/8bit content as it is sent */
        msg_delim delim;    /* the same for message/... content (p->strict) */
    };
    unsigned char inbuf[MAILOUT_READER_INBUF_SIZE];
    size_t in_pos, in_len;
    size_t data_pos;   /* SRC_DATA */
    void *fh;          /* open file handle */
    unsigned char fh_open;
    unsigned char src_eof;
    unsigned char enc_done;
    uint64_t src_read; /* bytes taken from a file/producer */
    uint64_t src_size; /* expected, or MAILOUT_SIZE_UNKNOWN */

    /* SMTP DATA filter over the whole message */
    mailout_line smtp;
    unsigned char stage[MSG_STAGE_SIZE];
    size_t stage_pos, stage_len;
} msg_reader;

struct mailout_msg {
    mailout_allocator al;
    mailout_env env;
    unsigned char frozen; /* read_start was called: setters refused */

    msg_str from_addr, from_name;
    msg_str env_from;
    unsigned char env_from_set;
    msg_str reply_addr, reply_name;
    msg_rcpt *rcpt_first, *rcpt_last;
    unsigned rcpt_count;
    msg_str subject;
    unsigned char subject_set;
    int64_t date;
    int date_offset;
    unsigned char date_set;
    msg_str msg_id;
    char gen_id[MSG_ID_RANDOM + 1]; /* generated left part; "" if none */
    msg_hdr_list headers;
    unsigned dsn_notify;
    mailout_dsn_ret dsn_ret;
    msg_str dsn_envid;

    mailout_part *body;
    mailout_part empty; /* stands in for a missing body: empty text/plain */
    unsigned char is_8bit;
    msg_reader r;
};

/* ---- msg.c: strings ---- */
mailout_status msg_strdup(mailout_msg *m, msg_str *out, const char *s, size_t len);
void msg_strfree(mailout_msg *m, msg_str *s);
/* Replace *dst by a copy of s (NULL clears); *dst untouched on failure. */
mailout_status msg_str_replace(mailout_msg *m, msg_str *dst, const char *s, size_t len);
mailout_status msg_hdr_add(mailout_msg *m, msg_hdr_list *list, const char *name, const char *value);
void msg_hdr_free_all(mailout_msg *m, msg_hdr_list *list);

/* ---- msg_validate.c ---- */
/* Bounded strlen: len of s, or max + 1 if longer than max. */
size_t msg_strnlen(const char *s, size_t max);
mailout_status msg_check_address(const char *addr, size_t *len);
mailout_status msg_check_display_name(const char *name, size_t *len);
mailout_status msg_check_header_name(const char *name, size_t *len);
mailout_status msg_check_header_value(const char *value, size_t *len);
mailout_status msg_check_media_type(const char *type, size_t *len);
mailout_status msg_check_charset(const char *cs, size_t *len);
mailout_status msg_check_msg_id(const char *id, size_t *len);
mailout_status msg_check_envid(const char *id, size_t *len);
int msg_name_eq(const char *a, size_t alen, const char *b);
int msg_is_ascii(const char *s, size_t len);
/* The domain of an address (after the last '@'). */
const char *msg_addr_domain(const char *addr, size_t len, size_t *dlen);

/* ---- msg_part.c ---- */
void msg_part_free_tree(mailout_msg *m, mailout_part *p);
int msg_part_is_text(const mailout_part *p);
/* Pre-order successor in the tree (NULL after the last). */
mailout_part *msg_part_next_preorder(mailout_part *p);
/* Lines of a part's content against the delimiters of parent and its
 * ancestors (parent NULL: nothing is followed). MIME only. */
void msg_delim_init(msg_delim *d, const mailout_part *parent);
void msg_delim_update(msg_delim *d, const unsigned char *s, size_t n);

/* ---- msg_date.c ---- */
/* "Sun, 22 Nov 2026 14:55:40 +0000" into out (>= 32 bytes); returns length. */
size_t msg_format_date(int64_t unix_seconds, int offset_minutes, char *out);
int msg_date_in_range(int64_t unix_seconds, int offset_minutes);
/* Fill out with n characters of [0-9a-v] from the env's randomness. */
mailout_status msg_random_chars(mailout_msg *m, char *out, size_t n);

/* ---- msg_prepare.c ---- */
mailout_status msg_prepare(mailout_msg *m, unsigned flags);

/* ---- msg_fields.c ---- */
/* Next unit of the header being written into r->pend; 0 when the header
 * (for PH_MSG_FIELDS: the message fields, for PH_PART_FIELDS: the part's
 * Content-* and custom fields) is complete. */
size_t msg_fields_next(mailout_msg *m, int message_fields, unsigned char *out);
void msg_fields_reset(msg_field *f);

/* ---- msg_reader.c ---- */
void msg_reader_close(mailout_msg *m);
mailout_status msg_reader_begin(mailout_msg *m, unsigned flags, int sizing);

#endif /* MAILOUT_MSG_INTERNAL_H */

/*
 * Internal to lib/message: the message and part objects, the reader state,
 * and the functions the message's source files share. Not installed.
 */
#ifndef MAILOUT_MSG_INTERNAL_H
#define MAILOUT_MSG_INTERNAL_H

#include <string.h>

#include "internal.h"

#include <mailout/encode.h>
#include <mailout/message.h>

#include "encode/header.h"

/* Generated boundaries: "=_" + 24 characters from 120 random bits. The
 * "=_" prefix is what mailout_scan's boundary_like looks for, and cannot
 * start a line of QP ('=' is written =3D) or base64 output. */
#define MSG_BOUNDARY_RANDOM 24
#define MSG_BOUNDARY_LEN (2 + MSG_BOUNDARY_RANDOM)
/* Random left part of a generated Message-ID: 24 characters of 5 bits,
 * kept as the 15 random bytes they are made from. */
#define MSG_ID_RANDOM 24
#define MSG_ID_BYTES 15
/* Longest Message-ID / Content-ID accepted (with the brackets). */
#define MSG_MAX_ID_LEN 250
/* Largest body a sizing pass counts (2^56 bytes, 64 PiB): the encoded
 * sizes of any number of such parts stay far below 2^64. A declared size
 * beyond it makes mailout_msg_size() say MAILOUT_E_SIZE_UNKNOWN. */
#define MSG_SIZABLE_MAX ((uint64_t)1 << 56)
/* Longest charset name. */
#define MSG_MAX_CHARSET_LEN 40

/* A copied string, NUL-terminated (s == NULL: not set). No length is
 * kept: the strings are short and their lengths are needed rarely
 * (msg_len), while a length per string costs RAM in every message. */
typedef struct msg_str {
    char *s;
} msg_str;

static inline size_t msg_len(const msg_str *x)
{
    return x->s ? strlen(x->s) : 0;
}

/* A caller-supplied header field. */
typedef struct msg_hdr {
    struct msg_hdr *next;
    msg_str name;
    msg_str value;
} msg_hdr;

/* Appended at the end (walked to: at most MAILOUT_MAX_HEADERS). */
typedef struct msg_hdr_list {
    msg_hdr *first;
} msg_hdr_list;

typedef struct msg_rcpt {
    struct msg_rcpt *next;
    mailout_rcpt_kind kind;
    msg_str addr;
    msg_str name; /* display name; s == NULL if none */
} msg_rcpt;

typedef enum msg_src_kind { SRC_NONE = 0, SRC_DATA, SRC_FILE, SRC_PRODUCER } msg_src_kind;

/* Without MIME the body is the only part and a leaf: the tree, multipart
 * and attachment members are left out (the struct is private), and the
 * accessors below fold to constants. */
struct mailout_part {
    /* what the part holds, by p->src (a multipart has no source); first,
     * so its 8-byte alignment costs no padding */
    union {
        struct { /* SRC_DATA: borrowed */
            const unsigned char *data;
            size_t data_len;
        };
        msg_str path; /* SRC_FILE */
        struct {      /* SRC_PRODUCER */
            uint64_t prod_size;
            mailout_producer_fn produce;
            mailout_rewind_fn rewind;
            void *prod_ctx;
        };
#if MAILOUT_ENABLE_MIME
        char boundary[MSG_BOUNDARY_LEN + 1]; /* a multipart: "" until generated */
#endif
    };
    mailout_msg *msg;
#if MAILOUT_ENABLE_MIME
    mailout_part *parent;
    mailout_part *first_child;
    mailout_part *last_child;
    mailout_part *next;
#endif

    /* header facts */
    msg_str type;     /* NULL = text/plain */
    msg_str charset;  /* NULL = utf-8 */
#if MAILOUT_ENABLE_MIME
    msg_str filename; /* NULL = none */
#endif
    msg_str cid;
    msg_hdr_list headers;

#if MAILOUT_ENABLE_MIME
    unsigned char depth;     /* multiparts from the root down to this one (0 for a leaf body) */
    unsigned char multipart; /* a container */
    unsigned char mp_kind;   /* mailout_multipart_kind */
    unsigned char filename_from_path;
    unsigned char disposition; /* mailout_disposition */
#endif
    unsigned char src;       /* msg_src_kind */
    unsigned char consumed;  /* a producer was called since the last rewind */
    unsigned char forced;      /* mailout_encoding */
    /* chosen by prepare */
    unsigned char enc;    /* mailout_encoding */
#if MAILOUT_ENABLE_MIME
    unsigned char facts;  /* what the producer's scan found (msg_prepare.c); 0 = not scanned yet */
    unsigned char strict; /* message/...: 7bit/8bit whatever the content, errors are the content's */
#endif
};

static inline mailout_part *msg_part_parent(const mailout_part *p)
{
#if MAILOUT_ENABLE_MIME
    return p->parent;
#else
    (void)p;
    return NULL;
#endif
}

/* message/... (RFC 2046 §5.2.1: never QP or base64; msg_part.c) */
int msg_part_is_message(const mailout_part *p);

/* message/... content: sent as it is, its errors are the content's own
 * (kept by prepare with MIME; the type cannot change once prepared). */
static inline int msg_part_strict(const mailout_part *p)
{
#if MAILOUT_ENABLE_MIME
    return p->strict;
#else
    return msg_part_is_message(p);
#endif
}

static inline int msg_part_multi(const mailout_part *p)
{
#if MAILOUT_ENABLE_MIME
    return p->multipart;
#else
    (void)p;
    return 0;
#endif
}

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
    PH_PART_FIELDS,    /* Content-* and custom fields of r->part, then the empty line */
    PH_BODY_START,     /* open the leaf's source, start its encoder */
    PH_BODY,           /* leaf content through the encoder */
    PH_FIRST_CHILD,    /* "--B\r\n" before the first child */
    PH_NEXT,           /* leave r->part: next sibling, or close the parent */
    PH_FINAL,          /* the message's last CRLF if missing (and the DATA terminator) */
    PH_END             /* nothing more */
} msg_phase;

/* Header field iterator state (msg_fields.c). */
typedef struct msg_field {
    unsigned char index;  /* which field of the table */
    unsigned char step;   /* name, first value unit, more value units, done */
    unsigned char sub;    /* position inside a mailbox or a Content-* value */
    mailout_hfold fold;
    union {
        mailout_htext text;
#if MAILOUT_ENABLE_MIME
        mailout_hparam param;
#endif
    } it;
    union {
        const msg_rcpt *rcpt; /* To, Cc */
        const msg_hdr *hdr;   /* the caller's fields */
    };
} msg_field;

typedef struct msg_reader {
    uint64_t skipped;  /* bytes counted but not generated while sizing */
    mailout_part *part;
    mailout_hunit unit; /* bytes waiting for the caller's window; unit.buf is buf.unit */
    unsigned short unit_pos;
    unsigned char flags;
    unsigned char active; /* read_start succeeded */
    unsigned char sizing; /* counting only (mailout_msg_size) */
    unsigned char phase;  /* msg_phase */
    unsigned char last[2]; /* last two bytes generated */
    unsigned char fh_open;
    unsigned char src_eof;
    unsigned char enc_done;
    signed char error;     /* sticky mailout_status, MAILOUT_OK if none */

    /* The generator writes either a header's fields or a body, never both
     * at once (a part's fields are reset when it is entered, a body is
     * started by body_begin and its file closed before the next part's
     * fields), so the two states share their bytes. */
    union {
        msg_field field;
        struct { /* the body of the current leaf */
            uint64_t src_left; /* bytes a file/producer has still to give, or MAILOUT_SIZE_UNKNOWN */
            void *fh;          /* open file handle (valid while fh_open) */
            size_t pos;        /* next byte of the data (SRC_DATA) or of buf.in */
            size_t in_len;     /* bytes in buf.in */
            /* its transfer encoder */
            union {
                mailout_b64 b64;
                mailout_qp qp;
                mailout_line line;
            } enc;
            /* re-check of 7bit/8bit content as it is sent (msg_reader.c):
             * how much of "--=_" the line starts with, or for message/...
             * content (p->strict) where it stands against the enclosing
             * delimiters */
            union {
                unsigned char watch;
#if MAILOUT_ENABLE_MIME
                msg_delim delim;
#endif
            } chk;
        };
    };
    /* A unit is only built while no body is being read (the generator
     * asks for the next unit once the last is out, and a body's input is
     * used up before the body ends), so the two share their bytes. */
    union {
        char unit[MAILOUT_HDR_UNIT_MAX];
        unsigned char in[MAILOUT_READER_INBUF_SIZE]; /* file and producer input */
    } buf;
} msg_reader;

struct mailout_msg {
    mailout_allocator al;
    mailout_env env;

    msg_str from_addr, from_name;
    msg_str env_from; /* s == NULL: not set (the From address is used) */
    msg_str reply_addr, reply_name;
    msg_rcpt *rcpt_first; /* appended at the end (walked to: at most MAILOUT_MAX_RECIPIENTS) */
    msg_str subject; /* s == NULL: no Subject field */
    int64_t date;
    msg_str msg_id;
    msg_hdr_list headers;
#if MAILOUT_ENABLE_DSN
    msg_str dsn_envid;
#endif
    mailout_part *body; /* NULL: an empty text/plain body */
    short date_offset;
#if MAILOUT_ENABLE_DSN
    unsigned char dsn_notify;
    unsigned char dsn_ret; /* mailout_dsn_ret */
#endif
    unsigned char frozen;  /* read_start was called: setters refused */
    unsigned char date_set;
    unsigned char is_8bit;
    unsigned char gen_set; /* gen_id holds the generated left part */
    unsigned char gen_id[MSG_ID_BYTES];
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
/* No byte >= 0x80 (an unset string is ASCII). */
static inline int msg_str_ascii(const msg_str *x)
{
    return msg_is_ascii(x->s, msg_len(x));
}
/* The domain of an address (after the last '@'). */
const char *msg_addr_domain(const char *addr, size_t len, size_t *dlen);

/* ---- msg_part.c ---- */
void msg_part_free_tree(mailout_msg *m, mailout_part *p);
int msg_part_is_text(const mailout_part *p);
/* Pre-order successor in the tree (NULL after the last). */
#if MAILOUT_ENABLE_MIME
mailout_part *msg_part_next_preorder(mailout_part *p);
#else
static inline mailout_part *msg_part_next_preorder(mailout_part *p)
{
    (void)p;
    return NULL;
}
#endif
/* Lines of a part's content against the delimiters of parent and its
 * ancestors (parent NULL: nothing is followed). MIME only. */
void msg_delim_init(msg_delim *d, const mailout_part *parent);
void msg_delim_update(msg_delim *d, const unsigned char *s, size_t n);

/* ---- msg_date.c ---- */
/* "Sun, 22 Nov 2026 14:55:40 +0000" into out (>= 32 bytes); returns length. */
size_t msg_format_date(int64_t unix_seconds, int offset_minutes, char *out);
int msg_date_in_range(int64_t unix_seconds, int offset_minutes);
/* n bytes of the env's randomness. */
mailout_status msg_random_bytes(mailout_msg *m, unsigned char *out, size_t n);
/* n characters of [0-9a-v] into out, 5 bits each from bytes in order
 * (nbytes of them, at least (n * 5 + 7) / 8). */
void msg_b32(const unsigned char *bytes, size_t nbytes, char *out, size_t n);
/* Fill out with n characters of [0-9a-v] from the env's randomness (MIME). */
mailout_status msg_random_chars(mailout_msg *m, char *out, size_t n);

/* ---- msg_prepare.c ---- */
mailout_status msg_prepare(mailout_msg *m, unsigned flags);

/* ---- msg_fields.c ---- */
/* Next unit of the header being written, into u (empty); 0 when the header
 * (for PH_MSG_FIELDS: the message fields, for PH_PART_FIELDS: the part's
 * Content-* and custom fields) is complete. */
int msg_fields_next(mailout_msg *m, int message_fields, mailout_hunit *u);
void msg_fields_reset(msg_field *f);

/* ---- msg_reader.c ---- */
/* One read from a file (handle fh) or a producer into r->buf.in (r->pos 0,
 * r->in_len bytes, r->src_eof): MAILOUT_OK (more to come), MAILOUT_DONE
 * (the last bytes), MAILOUT_AGAIN (nothing now), or MAILOUT_E_FILE /
 * MAILOUT_E_SOURCE for anything outside the source's contract (never a
 * hang) or bytes beyond r->src_left (counted down unless
 * MAILOUT_SIZE_UNKNOWN). */
mailout_status msg_source_read(mailout_msg *m, mailout_part *p, void *fh);
void msg_reader_close(mailout_msg *m);
mailout_status msg_reader_begin(mailout_msg *m, unsigned flags, int sizing);

#endif /* MAILOUT_MSG_INTERNAL_H */

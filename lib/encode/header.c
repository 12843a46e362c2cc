/* see encode/header.h: folding, RFC 2047 encoded-words, RFC 2231 parameters */
#include <string.h>

#include "internal.h"

#include <mailout/encode.h>

#include "encode/header.h"

/* Shortest encoded-word we bother to start on the current line: the 12
 * characters of "=?utf-8?Q?" + "?=" and one 4-byte code point as Q (12).
 * Below that the word goes to a new line, where 75 characters fit. */
#define HDR_MIN_WORD 24
#define HDR_WORD_OVERHEAD 12 /* "=?utf-8?Q?" + "?=" */

enum { HT_PLAIN, HT_QUOTED, HT_QUOTED_IN, HT_Q, HT_B };
enum { HP_QUOTED, HP_EXT1, HP_EXTN, HP_DONE };

static int is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

void mailout_hunit_fold(mailout_hunit *u, mailout_hfold *f, size_t n, int fws)
{
    char *out = u->buf + u->len;
    size_t o = 0;
    fws &= ~MAILOUT_HFWS_BORROW;
    /* Folding at col <= 1 would only produce a line holding nothing but
     * white space, which RFC 5322 §3.2.2 forbids. */
    if (fws != MAILOUT_HFWS_NONE && f->col > 1 && f->col + (fws == MAILOUT_HFWS_SPACE) + n > MAILOUT_HDR_LINE) {
        out[o++] = '\r';
        out[o++] = '\n';
        f->col = 0;
    }
    if (fws == MAILOUT_HFWS_SPACE) {
        out[o++] = ' ';
        f->col++;
    }
    f->col += (unsigned)n;
    u->len = (unsigned short)(u->len + o);
}

void mailout_hunit_add(mailout_hunit *u, const char *s, size_t n)
{
    char *out = u->buf + u->len;
    /* s may be built in the buffer itself, ahead of out: a forward copy
     * never overwrites what it has still to read (a loop: no memmove in
     * the image) */
    for (size_t i = 0; i < n; i++)
        out[i] = s[i];
    u->len = (unsigned short)(u->len + n);
}

void mailout_hunit_ext(mailout_hunit *u, const char *s, size_t n)
{
    u->at = u->len;
    u->ext = s;
    u->ext_len = n;
}

void mailout_hunit_put(mailout_hunit *u, mailout_hfold *f, const char *tok, size_t n, int fws)
{
    mailout_hunit_fold(u, f, n, fws);
    if (fws & MAILOUT_HFWS_BORROW)
        mailout_hunit_ext(u, tok, n);
    else
        mailout_hunit_add(u, tok, n);
}

/* ---- UTF-8 -------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence of 2..4 bytes at s, 0 if invalid
 * (RFC 3629 table: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_valid_seq(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

mailout_status mailout_utf8_check(const char *str, size_t len, int allow_tab)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && !(c == '\t' && allow_tab)) || c == 0x7F)
                return MAILOUT_E_HEADER;
            i++;
            continue;
        }
        size_t n = utf8_valid_seq(s + i, len - i);
        if (n == 0)
            return MAILOUT_E_UTF8;
        i += n;
    }
    return MAILOUT_OK;
}

size_t mailout_utf8_seq_len(const unsigned char *s, size_t avail)
{
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 1;
    if (n > avail)
        return 1;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 1;
    return n;
}

/* ---- text ---------------------------------------------------------------- */

/* Characters written as themselves: in a "Q" word the phrase-safe set of
 * RFC 2047 §5(3) (used everywhere, so one encoder serves both Subject and
 * display names; ' ' becomes '_'), in an RFC 2231 value the
 * attribute-chars (token characters other than '*', '\'' and '%'). */
static int literal(unsigned char c, int q)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && mailout_in_set(q ? "!*+-/" : "!#$&+-.^_`|~", c);
}

/* Length of s written as Q (q) or percent-encoded (!q): each byte 1 or 3. */
static size_t escaped_len(const unsigned char *s, size_t len, int q)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += literal(s[i], q) || (q && s[i] == ' ') ? 1 : 3;
    return n;
}

/* Printable ASCII (plus TAB if allowed) and no "=?" anywhere (a literal
 * "=?..?=" would be decoded by readers, even inside a quoted parameter by
 * some, Python's email among them). */
static int plain_chars_ok(const unsigned char *s, size_t len, int allow_tab)
{
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= 0x20 && s[i] < 0x7F) || (allow_tab && s[i] == '\t')))
            return 0;
        if (s[i] == '=' && i + 1 < len && s[i + 1] == '?')
            return 0;
    }
    return 1;
}

/* Plain text also has no white space at either end (readers strip it, so
 * it would not round-trip). */
static int plain_text_ok(const unsigned char *s, size_t len, int allow_tab)
{
    return !(len > 0 && (is_wsp(s[0]) || is_wsp(s[len - 1]))) && plain_chars_ok(s, len, allow_tab);
}

/* Every unit (white space run + word) fits in @p max columns; the first,
 * which gets a space put before it, in first_max. */
static int plain_words_fit(const unsigned char *s, size_t len, size_t first_max, size_t max)
{
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && is_wsp(s[i]))
            i++;
        while (i < len && !is_wsp(s[i]))
            i++;
        if (i - start > (start == 0 ? first_max : max))
            return 0;
    }
    return 1;
}

static size_t quoted_len(const unsigned char *s, size_t len)
{
    size_t n = 2;
    for (size_t i = 0; i < len; i++)
        n += (s[i] == '"' || s[i] == '\\') ? 2 : 1;
    return n;
}

/* s as a quoted-string: quotes and backslashes escaped. */
static size_t quote(const unsigned char *s, size_t len, char *w)
{
    size_t n = 0;
    w[n++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            w[n++] = '\\';
        w[n++] = (char)s[i];
    }
    w[n++] = '"';
    return n;
}

/* Q keeps mostly-ASCII text readable; B is shorter for the rest (CJK,
 * Cyrillic). Q is taken unless it is more than twice as long as B.
 * Without MIME only "encoded or not" matters (mailout_htext_check). */
static unsigned char choose_encoding(const unsigned char *s, size_t len)
{
    if (!MAILOUT_ENABLE_MIME)
        return HT_Q;
    return escaped_len(s, len, 1) <= 2 * ((len + 2) / 3 * 4) ? HT_Q : HT_B;
}

void mailout_htext_init(mailout_htext *t, const char *str, size_t len, unsigned flags, unsigned col)
{
    const unsigned char *s = (const unsigned char *)str;
    int phrase = (flags & MAILOUT_HTEXT_PHRASE) != 0;
    t->s = s;
    t->len = len;
    t->pos = 0;
    t->first = (unsigned char)!phrase;
    if (phrase) {
        /* a quoted-string is one unit: it must fit a continuation line */
        int quoted = plain_text_ok(s, len, 0) && quoted_len(s, len) <= MAILOUT_HDR_LINE - 2;
        t->mode = quoted ? HT_QUOTED : choose_encoding(s, len);
        return;
    }
    size_t max = (flags & MAILOUT_HTEXT_LONG_WORDS) ? MAILOUT_HDR_LONG_WORD : MAILOUT_HDR_LINE - 1;
    /* The first word stays on the field's first line (see htext_put). If
     * it does not fit there, encoded-words can be cut to fit, unless the
     * name is so long that nothing would. */
    size_t first_max = max - 1;
    if (col + 1 + HDR_MIN_WORD <= MAILOUT_HDR_LINE && !(flags & MAILOUT_HTEXT_LONG_WORDS))
        first_max = MAILOUT_MIN(first_max, MAILOUT_HDR_LINE - 1 - col);
    int plain = plain_text_ok(s, len, 1) && plain_words_fit(s, len, first_max, max);
    t->mode = plain ? HT_PLAIN : choose_encoding(s, len);
}

mailout_status mailout_htext_check(const char *s, size_t len, unsigned flags, unsigned col)
{
    mailout_htext t;
    if (MAILOUT_ENABLE_MIME)
        return MAILOUT_OK;
    mailout_htext_init(&t, s, len, flags, col);
    return mailout_htext_encoded(&t) ? MAILOUT_E_UNSUPPORTED : MAILOUT_OK;
}

int mailout_htext_encoded(const mailout_htext *t)
{
    return t->mode == HT_Q || t->mode == HT_B;
}

/* The first unit of an unstructured value goes on the field's first line,
 * after one space, never folded: readers keep white space that follows a
 * fold right after the colon as part of the value (Python's email does),
 * so "Name:" CRLF SP "value" would not read back as "value". */
static void htext_put(mailout_htext *t, mailout_hfold *f, mailout_hunit *u, const char *tok, size_t n, int fws)
{
    if (t->first) {
        t->first = 0;
        mailout_hunit_add(u, " ", 1);
        f->col++;
        fws &= MAILOUT_HFWS_BORROW; /* NONE, borrowed or not */
    }
    mailout_hunit_put(u, f, tok, n, fws);
}

static void next_plain(mailout_htext *t, mailout_hfold *f, mailout_hunit *u)
{
    size_t start = t->pos, i = t->pos;
    while (i < t->len && is_wsp(t->s[i]))
        i++;
    while (i < t->len && !is_wsp(t->s[i]))
        i++;
    t->pos = i;
    htext_put(t, f, u, (const char *)t->s + start, i - start, MAILOUT_HFWS_INLINE | MAILOUT_HFWS_BORROW);
}

/* A display name as one quoted-string, folded before as a whole. With
 * MIME the unit has room for all of it (a parameter needs more), so it is
 * built there in one piece. Without MIME the units borrow the text, to
 * keep MAILOUT_HDR_UNIT_MAX small: the first opens the quotes, each later
 * one starts with the backslash before a '"' or '\\' and borrows the run
 * from that character on, the last closes the quotes. */
static void next_quoted(mailout_htext *t, mailout_hfold *f, mailout_hunit *u)
{
    if (MAILOUT_ENABLE_MIME) {
        char *buf = u->buf + u->len + MAILOUT_HDR_TOK_AT;
        size_t n = quote(t->s, t->len, buf);
        t->pos = t->len;
        mailout_hunit_put(u, f, buf, n, MAILOUT_HFWS_SPACE);
        return;
    }
    size_t start = t->pos, i = start;
    if (t->mode == HT_QUOTED) {
        mailout_hunit_fold(u, f, quoted_len(t->s, t->len), MAILOUT_HFWS_SPACE);
        mailout_hunit_add(u, "\"", 1);
        t->mode = HT_QUOTED_IN;
    } else {
        mailout_hunit_add(u, "\\", 1);
        i++; /* the escaped character itself */
    }
    while (i < t->len && t->s[i] != '"' && t->s[i] != '\\')
        i++;
    mailout_hunit_ext(u, (const char *)t->s + start, i - start);
    t->pos = i;
    if (i == t->len)
        mailout_hunit_add(u, "\"", 1);
}

#if MAILOUT_ENABLE_MIME
static const char hex_digits[16] = "0123456789ABCDEF";

/* Append whole code points of s from *pos, Q-encoded (q) or percent-encoded,
 * while the result stays within max; returns the new length. */
static size_t fill_escaped(const unsigned char *s, size_t len, size_t *pos, char *w, size_t n, size_t max, int q)
{
    while (*pos < len) {
        const unsigned char *cp = s + *pos;
        size_t cl = mailout_utf8_seq_len(cp, len - *pos);
        if (n + escaped_len(cp, cl, q) > max)
            break;
        for (size_t i = 0; i < cl; i++) {
            unsigned char c = cp[i];
            if (q && c == ' ') {
                w[n++] = '_';
            } else if (literal(c, q)) {
                w[n++] = (char)c;
            } else {
                w[n++] = q ? '=' : '%';
                w[n++] = hex_digits[c >> 4];
                w[n++] = hex_digits[c & 15];
            }
        }
        *pos += cl;
    }
    return n;
}

/* Longest word that may be started now: the rest of this line if a
 * useful word fits there, else a whole new line's worth (or, for the
 * first word, which cannot move to a new line, the shortest useful one). */
static size_t word_room(const mailout_htext *t, const mailout_hfold *f)
{
    size_t room = f->col + 1 < MAILOUT_HDR_LINE ? MAILOUT_HDR_LINE - f->col - 1 : 0;
    if (room >= HDR_MIN_WORD && room < MAILOUT_HDR_WORD_MAX)
        return room;
    if (t->first && room < HDR_MIN_WORD)
        return HDR_MIN_WORD;
    return MAILOUT_HDR_WORD_MAX;
}

/* Take whole code points while their base64 stays within max. */
static size_t fill_b(mailout_htext *t, char *w, size_t n, size_t max)
{
    size_t k = 0;
    while (t->pos + k < t->len) {
        size_t cl = mailout_utf8_seq_len(t->s + t->pos + k, t->len - t->pos - k);
        if (n + (k + cl + 2) / 3 * 4 + 2 > max)
            break;
        k += cl;
    }
    n += mailout_b64_encode_block(t->s + t->pos, k, w + n, MAILOUT_HDR_WORD_MAX - n);
    t->pos += k;
    return n;
}

static void next_word(mailout_htext *t, mailout_hfold *f, mailout_hunit *u)
{
    char *w = u->buf + u->len + MAILOUT_HDR_TOK_AT;
    size_t max = word_room(t, f);
    memcpy(w, t->mode == HT_Q ? "=?utf-8?Q?" : "=?utf-8?B?", 10);
    /* "?=" follows: 2 of max */
    size_t n = t->mode == HT_Q ? fill_escaped(t->s, t->len, &t->pos, w, 10, max - 2, 1) : fill_b(t, w, 10, max);
    w[n++] = '?';
    w[n++] = '=';
    htext_put(t, f, u, w, n, MAILOUT_HFWS_SPACE);
}

#endif /* MAILOUT_ENABLE_MIME */

int mailout_htext_next(mailout_htext *t, mailout_hfold *f, mailout_hunit *u)
{
    if (t->pos >= t->len)
        return 0;
    if (t->mode == HT_PLAIN)
        next_plain(t, f, u);
    else if (t->mode < HT_Q)
        next_quoted(t, f, u);
    else
#if MAILOUT_ENABLE_MIME
        next_word(t, f, u);
#else
        return 0; /* never reached: mailout_htext_check() refused the text */
#endif
    return 1;
}

#if MAILOUT_ENABLE_MIME
/* ---- parameters ---------------------------------------------------------- */

void mailout_hparam_init(mailout_hparam *p, const char *name, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t nlen = strlen(name);
    p->name = name;
    p->s = s;
    p->len = (unsigned short)len;
    p->pos = 0;
    p->seg = 0;
    /* Each unit goes on a line as " " + unit + ";": at most 76 characters. */
    if (plain_chars_ok(s, len, 0) && nlen + 1 + quoted_len(s, len) <= MAILOUT_HDR_LINE - 2)
        p->mode = HP_QUOTED;
    else if (nlen + 9 + escaped_len(s, len, 0) <= MAILOUT_HDR_LINE - 2)
        p->mode = HP_EXT1;
    else
        p->mode = HP_EXTN;
}

static size_t put_uint(char *out, unsigned v)
{
    char tmp[10];
    size_t n = 0, o = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        out[o++] = tmp[--n];
    return o;
}

static size_t param_segment(mailout_hparam *p, char *w)
{
    size_t n = strlen(p->name);
    memcpy(w, p->name, n);
    if (p->mode == HP_QUOTED) {
        w[n++] = '=';
        p->pos = p->len;
        return n + quote(p->s, p->len, w + n);
    }
    w[n++] = '*';
    if (p->mode == HP_EXTN) {
        n += put_uint(w + n, p->seg);
        w[n++] = '*';
    }
    w[n++] = '=';
    if (p->seg == 0) {
        memcpy(w + n, "utf-8''", 7);
        n += 7;
    }
    p->seg++;
    size_t pos = p->pos;
    n = fill_escaped(p->s, p->len, &pos, w, n, MAILOUT_HDR_LINE - 2, 0);
    p->pos = (unsigned short)pos;
    return n;
}

int mailout_hparam_next(mailout_hparam *p, mailout_hfold *f, mailout_hunit *u)
{
    char *w = u->buf + u->len + 1 + MAILOUT_HDR_TOK_AT; /* after the ';' */
    if (p->mode == HP_DONE)
        return 0;
    size_t n = param_segment(p, w);
    if (p->pos >= p->len)
        p->mode = HP_DONE;
    mailout_hunit_put(u, f, ";", 1, MAILOUT_HFWS_NONE);
    mailout_hunit_put(u, f, w, n, MAILOUT_HFWS_SPACE);
    return 1;
}

#endif /* MAILOUT_ENABLE_MIME */

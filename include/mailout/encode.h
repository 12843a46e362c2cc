/*
 * mailout — streaming encoders (layer 1: encode).
 *
 * Byte-stream filters that carry their state across calls, so input may
 * arrive in chunks of any size (down to one byte) and output may be drained
 * through a window of any size (down to one byte), always producing the
 * same bytes. None of them allocates; their state is a small struct the
 * caller places anywhere.
 *
 * All filters follow the zlib convention: the caller fills a
 * mailout_stream with the input still to consume and the output room still
 * free, and the filter advances next_in/next_out as it goes.
 *
 *   mailout_stream s = { in, in_len, out, out_cap };
 *   st = mailout_b64_encode(&b64, &s, end);
 *
 * Each *_encode / *_filter call returns
 *   MAILOUT_OK    it stopped because the input is used up or the output is
 *                 full; call again with more input / more room;
 *   MAILOUT_DONE  only when end != 0: all input consumed and every pending
 *                 byte written. The filter must be re-initialised to be
 *                 used again;
 *   an error      documented per filter (sticky: repeated until re-init).
 *
 * "end" means "no input will follow what is in the stream now". Passing
 * end with bytes still in next_in is fine: they are consumed first.
 */
#ifndef MAILOUT_ENCODE_H
#define MAILOUT_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/status.h>
#include <mailout/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Input and output windows of a filter call (zlib-style). */
typedef struct mailout_stream {
    const unsigned char *next_in; /**< next input byte */
    size_t avail_in;              /**< bytes available at next_in */
    unsigned char *next_out;      /**< next output byte goes here */
    size_t avail_out;             /**< room at next_out */
} mailout_stream;

/* ------------------------------------------------------------------ */
/* base64 (RFC 4648 §4 alphabet, RFC 2045 §6.8 line breaking)          */
/* ------------------------------------------------------------------ */

/** Base64 encoder state. Fields are private. */
typedef struct mailout_b64 {
    unsigned char MAILOUT_PRIVATE(carry)[3]; /* input bytes of an incomplete group */
    unsigned char MAILOUT_PRIVATE(ncarry);
    unsigned char MAILOUT_PRIVATE(pend)[6];  /* encoded bytes not yet written */
    unsigned char MAILOUT_PRIVATE(npend);
    unsigned char MAILOUT_PRIVATE(pendpos);
    unsigned char MAILOUT_PRIVATE(flags);
    unsigned short MAILOUT_PRIVATE(col);     /* characters on the current line */
    unsigned short MAILOUT_PRIVATE(line_len);
} mailout_b64;

/**
 * @brief Start a base64 encoder.
 * @param line_len characters per output line (a multiple of 4 up to 76;
 *        MIME uses 76), or 0 for one unbroken line.
 *
 * Lines are separated by CRLF; no CRLF follows the last line. The output
 * never contains '.', so it needs no dot-stuffing.
 * @return MAILOUT_OK, or MAILOUT_E_INVAL for a bad line_len.
 */
MAILOUT_API mailout_status mailout_b64_init(mailout_b64 *e, unsigned line_len);

/** @brief Encode; see the file comment for the stream contract. */
MAILOUT_API mailout_status mailout_b64_encode(mailout_b64 *e, mailout_stream *s, int end);

/**
 * @brief Exact encoded size of @p n input bytes with @p line_len (as for
 * init). Used by the sizing pass without reading the data.
 * @return The size, or UINT64_MAX if it would overflow.
 */
MAILOUT_API uint64_t mailout_b64_encoded_size(uint64_t n, unsigned line_len);

/**
 * @brief One-shot encode without line breaks (SASL, RFC 2047 "B").
 * @return Bytes written (4 * ceil(len / 3)); 0 with nothing written if
 *         @p cap is too small. No terminating NUL is written.
 */
MAILOUT_API size_t mailout_b64_encode_block(const void *in, size_t len, char *out, size_t cap);

/**
 * @brief One-shot strict decode (SASL challenges): no whitespace, padding
 * required, non-zero trailing bits rejected.
 * @p out may be @p in itself (decoding in place: output never overtakes
 * the input it comes from).
 * @param out_len receives the decoded length.
 * @return MAILOUT_OK, MAILOUT_E_INVAL for malformed input, MAILOUT_E_LIMIT
 *         if @p cap is too small (out is then unspecified).
 */
MAILOUT_API mailout_status mailout_b64_decode_block(const char *in, size_t len, void *out, size_t cap,
                                                    size_t *out_len);

/* ------------------------------------------------------------------ */
/* quoted-printable (RFC 2045 §6.7)                                    */
/* ------------------------------------------------------------------ */

/**
 * QP flags.
 * TEXT: CRLF, lone LF and lone CR in the input are line breaks (written as
 *       CRLF; a CR at the end of one chunk and an LF at the start of the
 *       next are one break).
 * BINARY (no TEXT flag): CR and LF are data, written as =0D and =0A.
 */
#define MAILOUT_QP_TEXT 1u

/** Quoted-printable encoder state. Fields are private. */
typedef struct mailout_qp {
    unsigned char MAILOUT_PRIVATE(pend)[8]; /* encoded bytes not yet written */
    unsigned char MAILOUT_PRIVATE(npend);
    unsigned char MAILOUT_PRIVATE(pendpos);
    unsigned char MAILOUT_PRIVATE(flags);
    unsigned char MAILOUT_PRIVATE(held);     /* whitespace byte waiting to see what follows */
    unsigned char MAILOUT_PRIVATE(state);
    unsigned short MAILOUT_PRIVATE(col);     /* characters on the current output line */
} mailout_qp;

/**
 * @brief Start a QP encoder.
 *
 * Output rules (all of RFC 2045 §6.7): lines at most 76 characters
 * including a soft break "=" (this encoder puts at most 75 characters
 * before any line break, soft or hard, so it needs no lookahead); a soft break never splits an "=XX" triple;
 * '=' is written =3D; bytes outside 33..126 other than SP and TAB are
 * written =XX (uppercase hex); SP or TAB before a line break or at the end
 * of the input is written =20 / =09. In addition a '.' at the start of an
 * output line is written =2E, so the output never needs dot-stuffing and
 * the raw message equals the SMTP data before stuffing. No CRLF is added at
 * the end beyond the line breaks of the input.
 * @return MAILOUT_OK, or MAILOUT_E_INVAL for unknown flags.
 */
MAILOUT_API mailout_status mailout_qp_init(mailout_qp *e, unsigned flags);

/** @brief Encode; see the file comment for the stream contract. */
MAILOUT_API mailout_status mailout_qp_encode(mailout_qp *e, mailout_stream *s, int end);

/* ------------------------------------------------------------------ */
/* line-ending normaliser and SMTP data filter (RFC 5321 §4.5.2)       */
/* ------------------------------------------------------------------ */

/** Line filter flags. */
#define MAILOUT_LINE_STUFF 1u      /**< double a '.' that starts a line */
#define MAILOUT_LINE_TERMINATE 2u  /**< at end: final CRLF if missing, then ".\r\n" */
#define MAILOUT_LINE_FINAL_CRLF 4u /**< at end: final CRLF if missing */
#define MAILOUT_LINE_7BIT 8u       /**< bytes >= 0x80 are MAILOUT_E_8BIT */
#define MAILOUT_LINE_NO_NUL 16u    /**< NUL bytes are MAILOUT_E_INVAL */
#define MAILOUT_LINE_MAX998 32u    /**< lines > 998 bytes are MAILOUT_E_LINE_TOO_LONG */

/** Line filter state. Fields are private. */
typedef struct mailout_line {
    unsigned char MAILOUT_PRIVATE(pend)[5]; /* bytes not yet written */
    unsigned char MAILOUT_PRIVATE(npend);
    unsigned char MAILOUT_PRIVATE(pendpos);
    unsigned char MAILOUT_PRIVATE(flags);
    unsigned char MAILOUT_PRIVATE(state);   /* at line start / mid-line / after CR */
    unsigned char MAILOUT_PRIVATE(done);
    unsigned short MAILOUT_PRIVATE(linelen);
} mailout_line;

/**
 * @brief Start a line filter at the start of a line.
 *
 * Every line ending in the input — CRLF, a lone LF, a lone CR, and a CR
 * and LF split across calls — becomes exactly one CRLF, so no bare CR or LF
 * can reach the output. With MAILOUT_LINE_STUFF a '.' at the start of a
 * line is doubled (after normalisation, so "\n." becomes "\r\n.."). With
 * MAILOUT_LINE_TERMINATE the end of input writes the missing CRLF, if any,
 * and then ".\r\n" exactly once — the DATA terminator. The terminator is
 * only ever written by a successful end; an error never writes it.
 * "a\r\r\nb" is "a", a line break (the lone CR), an empty line, "b".
 * An empty input ends at the start of a line: TERMINATE then writes just
 * ".\r\n" and FINAL_CRLF writes nothing. MAX998 counts input bytes of a
 * line, not its CRLF nor a dot doubled by STUFF (RFC 5321 §4.5.3.1.6).
 * @return MAILOUT_OK, or MAILOUT_E_INVAL for unknown or conflicting flags
 *         (TERMINATE without STUFF is conflicting: a "." line in the data
 *         would end the mail early).
 */
MAILOUT_API mailout_status mailout_line_init(mailout_line *f, unsigned flags);

/**
 * @brief Filter; see the file comment for the stream contract.
 * @return additionally MAILOUT_E_8BIT, MAILOUT_E_INVAL (NUL) or
 *         MAILOUT_E_LINE_TOO_LONG per the flags. next_in then points at the
 *         offending byte.
 */
MAILOUT_API mailout_status mailout_line_filter(mailout_line *f, mailout_stream *s, int end);

/* ------------------------------------------------------------------ */
/* content scan (for the automatic choice of transfer encoding)        */
/* ------------------------------------------------------------------ */

/** Facts about a text body, gathered in one pass. Fields are public. */
typedef struct mailout_scan {
    uint64_t bytes;         /**< input bytes seen */
    uint64_t lines;         /**< line breaks seen (any kind; CRLF counts once) */
    uint32_t max_line;      /**< longest line, excluding its line break */
    uint32_t cur_line;      /**< length of the current line so far */
    unsigned char has_8bit; /**< a byte >= 0x80 was seen */
    unsigned char has_nul;  /**< a NUL byte was seen */
    unsigned char has_ctl;  /**< another control byte: 01..1F except TAB, CR, LF; or 7F */
    unsigned char has_bare; /**< a lone CR or lone LF was seen */
    unsigned char utf8_ok;  /**< 8-bit bytes (if any) form valid UTF-8 so far */
    unsigned char boundary_like; /**< a line starts with "--=_" (see message.h) */
    unsigned char MAILOUT_PRIVATE(state);
    unsigned char MAILOUT_PRIVATE(utf8_need);
    unsigned char MAILOUT_PRIVATE(match);
} mailout_scan;

/** @brief Reset @p sc to "nothing seen". */
MAILOUT_API void mailout_scan_init(mailout_scan *sc);

/** @brief Feed @p len bytes; may be called with chunks of any size. */
MAILOUT_API void mailout_scan_update(mailout_scan *sc, const void *data, size_t len);

/**
 * @brief Finish: a last unterminated line counts towards max_line (not
 * towards lines, which counts breaks), a CR at the very end is a lone CR
 * (has_bare), and an unfinished UTF-8 sequence clears utf8_ok.
 */
MAILOUT_API void mailout_scan_final(mailout_scan *sc);

#ifdef __cplusplus
}
#endif

#endif /* MAILOUT_ENCODE_H */

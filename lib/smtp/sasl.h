/*
 * SASL client mechanisms for SMTP AUTH (internal to lib/smtp).
 *
 * The engine owns the SMTP side (the AUTH command, 334 challenges, base64);
 * this module only turns decoded challenges into decoded responses. A
 * response is handed out as a list of segments that point into the
 * caller's strings or into the mechanism's own buffer, so credentials are
 * never copied into a command buffer: the engine base64-encodes the
 * segments straight into its output (the encoder carries across segment
 * edges) and traces them as "<redacted>".
 *
 * Mechanism ids are the MAILOUT_AUTH_* bits of smtp.h.
 */
#ifndef MAILOUT_SASL_H
#define MAILOUT_SASL_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/smtp.h>

/** Room for mechanism-built messages (CRAM-MD5 response, SCRAM messages). */
#define MAILOUT_SASL_BUF 192
/** Most segments one response needs (XOAUTH2: 5). */
#define MAILOUT_SASL_SEGS 6

typedef struct mailout_sasl_seg {
    const unsigned char *p;
    size_t n;
} mailout_sasl_seg;

/** A client response, not yet base64-encoded. nseg == 0 with
 *  has_response == 1 is an empty response (sent as "=" initially or as an
 *  empty line to a challenge). */
typedef struct mailout_sasl_out {
    mailout_sasl_seg seg[MAILOUT_SASL_SEGS];
    unsigned nseg;
    int has_response;
} mailout_sasl_out;

typedef struct mailout_sasl {
    unsigned mech;
    unsigned step;
    const char *user;
    const char *secret; /* password, or XOAUTH2 token */
    unsigned char buf[MAILOUT_SASL_BUF];
    size_t buf_len;
    size_t bare_len;                  /* SCRAM: length of client-first-bare in buf */
    unsigned char server_sig[32];     /* SCRAM: expected ServerSignature */
} mailout_sasl;

/**
 * Start @p mech for @p user with @p secret (password or token).
 * @p out receives the initial response when the mechanism has one (PLAIN,
 * XOAUTH2, SCRAM client-first); LOGIN and CRAM-MD5 wait for a challenge
 * (out->has_response == 0). @p random fills nonces (SCRAM).
 * Returns MAILOUT_OK, MAILOUT_E_INVAL (user/secret with NUL-free controls
 * rules broken, or a ',' / '=' that SCRAM would need to escape beyond
 * the buffer), MAILOUT_E_AUTH_UNSUPPORTED (mechanism not built in).
 */
mailout_status mailout_sasl_start(mailout_sasl *s, unsigned mech, const char *user, const char *secret,
                                  int (*random)(void *ctx, void *buf, size_t len), void *random_ctx,
                                  mailout_sasl_out *out);

/**
 * Answer a decoded 334 challenge.
 * Returns MAILOUT_OK with the response in @p out, or MAILOUT_E_AUTH when
 * the challenge is malformed or fails verification (SCRAM nonce or server
 * signature mismatch, too few iterations), or asked for more steps than
 * the mechanism has.
 */
mailout_status mailout_sasl_step(mailout_sasl *s, const unsigned char *challenge, size_t len,
                                 mailout_sasl_out *out);

/**
 * The server said 235. Returns MAILOUT_OK, or MAILOUT_E_AUTH if the
 * mechanism required a verification that did not happen (SCRAM without a
 * verified server-final message).
 */
mailout_status mailout_sasl_finish(const mailout_sasl *s);

/** Forget everything derived from the secret (wipes buffers). */
void mailout_sasl_wipe(mailout_sasl *s);

/**
 * Choose a mechanism: the strongest in @p offered & @p allowed that the
 * credentials can drive (SCRAM-SHA-256 > CRAM-MD5 > PLAIN > LOGIN with a
 * password; XOAUTH2 with a token). 0 when none fits.
 */
unsigned mailout_sasl_pick(unsigned offered, unsigned allowed, int have_password, int have_token,
                           int have_random);

/** Mechanism name as used on the wire ("SCRAM-SHA-256"), NULL if unknown. */
const char *mailout_sasl_name(unsigned mech);

/** Parse one AUTH keyword (case-insensitive) to its bit, 0 if unknown. */
unsigned mailout_sasl_from_name(const char *name, size_t len);

#endif /* MAILOUT_SASL_H */

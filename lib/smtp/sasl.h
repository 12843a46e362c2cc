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
 *
 * Lifetimes: mailout_sasl keeps the user and secret pointers given to
 * mailout_sasl_start() (no copy); both strings must stay valid and
 * unchanged until mailout_sasl_wipe(). The segments of a response stay
 * valid until the next call on the same mailout_sasl. The challenge is
 * only read during mailout_sasl_step().
 *
 * Exchanges per mechanism (C: response produced, S: challenge given):
 *   PLAIN     start -> "\0user\0password" (RFC 4616, empty authzid).
 *             step(empty) -> the same again, for an engine that sent AUTH
 *             PLAIN without initial response; any other step -> E_AUTH.
 *   LOGIN     start -> nothing; step -> user; step -> password; a third
 *             step -> E_AUTH. Prompts are not read: steps go by count.
 *   CRAM-MD5  start -> nothing; step(challenge, non-empty) ->
 *             "user " + lowercase hex HMAC-MD5(password, challenge)
 *             (RFC 2195); any other step -> E_AUTH.
 *   XOAUTH2   start -> "user=U\1auth=Bearer T\1\1". step(empty) -> the
 *             same again; step(non-empty) is the server's JSON error:
 *             empty response (the server then sends 5xx) and finish()
 *             fails; any later step -> E_AUTH.
 *   SCRAM-SHA-256 (RFC 5802/7677, no channel binding: gs2 header "n,,")
 *             start -> client-first "n,,n=user,r=nonce"; step(empty) ->
 *             client-first again; step(server-first) -> client-final
 *             "c=biws,r=...,p=proof"; step(server-final "v=...") ->
 *             verifies the server signature, empty response. An engine
 *             that receives the server-final data with 235 instead may
 *             call step() with it before finish(); out is then ignored.
 *             The password is used as given (its UTF-8 bytes): no
 *             SASLprep, which is the identity for printable ASCII. The
 *             user name is escaped (',' -> "=2C", '=' -> "=3D").
 *
 * After any error every later mailout_sasl_step() returns MAILOUT_E_AUTH
 * (sticky) and mailout_sasl_finish() fails.
 */
#ifndef MAILOUT_SASL_H
#define MAILOUT_SASL_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/smtp.h>

/** Room for mechanism-built messages (CRAM-MD5 response, SCRAM messages).
 *  Bounds SCRAM: the escaped user name may take up to 155 bytes (start()
 *  gives MAILOUT_E_INVAL beyond), the full nonce of server-first up to 136
 *  bytes (step() gives MAILOUT_E_AUTH beyond). */
#if MAILOUT_ENABLE_AUTH_SCRAM_SHA256
#define MAILOUT_SASL_BUF 192
#elif MAILOUT_ENABLE_AUTH_CRAM_MD5
#define MAILOUT_SASL_BUF 32 /* the hex digest */
#else
#define MAILOUT_SASL_BUF 1 /* PLAIN, LOGIN, XOAUTH2 point at the caller's strings */
#endif
/** Most segments one response needs: XOAUTH2 5, PLAIN 4, CRAM-MD5 3,
 *  SCRAM 2, LOGIN 1 (of the mechanisms built in). */
#if MAILOUT_ENABLE_AUTH_XOAUTH2
#define MAILOUT_SASL_SEGS 5
#elif MAILOUT_ENABLE_AUTH_PLAIN
#define MAILOUT_SASL_SEGS 4
#else
#define MAILOUT_SASL_SEGS 3
#endif

/** Longest user name and longest secret accepted, in bytes (E_INVAL
 *  beyond): keeps every length sum far from overflow, and a base64 line
 *  of both within RFC 4954's 12288 octets. */
#define MAILOUT_SASL_CRED_MAX 4096

/** SCRAM iteration counts accepted from the server. Fewer than the
 *  minimum (RFC 7677 §4: at least 4096) is a downgrade; more than the
 *  maximum would let a server keep a small CPU busy for minutes (each
 *  iteration costs two SHA-256 blocks). */
#define MAILOUT_SCRAM_MIN_ITERATIONS 4096u
#ifndef MAILOUT_SCRAM_MAX_ITERATIONS
#define MAILOUT_SCRAM_MAX_ITERATIONS 100000u
#endif
#if MAILOUT_SCRAM_MAX_ITERATIONS < 4096 || MAILOUT_SCRAM_MAX_ITERATIONS > 100000000
#error "MAILOUT_SCRAM_MAX_ITERATIONS must be in 4096..100000000"
#endif
/** Longest SCRAM salt accepted (decoded bytes). */
#define MAILOUT_SCRAM_MAX_SALT 128
/** Random bytes behind the SCRAM client nonce (sent as 32 base64 chars). */
#define MAILOUT_SCRAM_NONCE_RANDOM 24
/** Longest client nonce mailout_sasl_start_scram_nonce() accepts. */
#define MAILOUT_SCRAM_NONCE_MAX 64

#include "smtp/crypto.h"

#if MAILOUT_ENABLE_AUTH_SCRAM_SHA256

/* SCRAM's keys and working memory, derived from the password. They live in
 * the SASL state (in the engine's one allocation) rather than on the stack,
 * which keeps the worst call chain of the core small; wiped after use.
 * PBKDF2's working memory is dead once it has run, so the HMAC context
 * reuses it. */
typedef struct mailout_scram_keys {
    unsigned char a[32]; /* SaltedPassword, then ClientKey, then ClientProof */
    unsigned char b[32]; /* StoredKey, then ClientSignature */
    union {
        mailout_pbkdf2_ws ws; /* the salt is decoded into it as it goes */
        mailout_hmac mac;
    } u;
} mailout_scram_keys;
#endif

typedef struct mailout_sasl_seg {
    const unsigned char *p;
    size_t n;
} mailout_sasl_seg;

/** A client response, not yet base64-encoded. nseg == 0 with
 *  has_response == 1 is an empty response (sent as "=" initially or as an
 *  empty line to a challenge). Segments never have n == 0. */
typedef struct mailout_sasl_out {
    mailout_sasl_seg seg[MAILOUT_SASL_SEGS];
    uint8_t nseg;
    uint8_t has_response;
} mailout_sasl_out;

/** Working memory of one step: HMAC contexts and SCRAM keys, only used
 *  (and wiped) inside mailout_sasl_state_step(). The engine lends memory
 *  that is idle then (its receive buffer) instead of keeping its own. */
typedef union mailout_sasl_work {
#if MAILOUT_CRYPTO_HMAC
    mailout_hmac mac; /* CRAM-MD5 */
#if MAILOUT_ENABLE_AUTH_SCRAM_SHA256
    mailout_scram_keys keys; /* the server-first step */
#endif
#endif
    unsigned char none; /* PLAIN, LOGIN, XOAUTH2 need none */
} mailout_sasl_work;

/** State of one exchange between steps. All fields are private to sasl.c. */
typedef struct mailout_sasl_state {
    uint8_t mech;
    uint8_t step;
    /* lengths: <= MAILOUT_SASL_CRED_MAX or MAILOUT_SASL_BUF */
    uint16_t buf_len;
    uint16_t bare_len;                /* SCRAM: length of client-first-bare in buf */
    uint16_t user_len, secret_len;
    uint16_t nonce_len;               /* SCRAM: client nonce, at the end of the bare */
    const char *user;
    const char *secret; /* password, or XOAUTH2 token */
    unsigned char buf[MAILOUT_SASL_BUF];
#if MAILOUT_ENABLE_AUTH_SCRAM_SHA256
    unsigned char server_sig[32];     /* SCRAM: expected ServerSignature */
#endif
} mailout_sasl_state;

/** An exchange with its own working memory (what the functions below
 *  take). */
typedef struct mailout_sasl {
    mailout_sasl_state st;
    mailout_sasl_work work;
} mailout_sasl;

/**
 * Start @p mech for @p user with @p secret (password or token).
 * @p out receives the initial response when the mechanism has one (PLAIN,
 * XOAUTH2, SCRAM client-first); LOGIN and CRAM-MD5 wait for a challenge
 * (out->has_response == 0). @p random fills nonces (SCRAM; returns 0 on
 * success) and is only called here, never kept.
 * Returns MAILOUT_OK, MAILOUT_E_INVAL (NULL argument, @p mech not exactly
 * one known bit, empty or over-long user or secret, a \1 in XOAUTH2 user
 * or token, a SCRAM user name too long once escaped, SCRAM without
 * @p random), MAILOUT_E_AUTH_UNSUPPORTED (mechanism not built in),
 * MAILOUT_E_INTERNAL (@p random failed). On failure @p s is wiped and
 * out->has_response is 0.
 */
mailout_status mailout_sasl_start(mailout_sasl *s, unsigned mech, const char *user, const char *secret,
                                  int (*random)(void *ctx, void *buf, size_t len), void *random_ctx,
                                  mailout_sasl_out *out);

/**
 * SCRAM-SHA-256 start with a given client nonce instead of a random one:
 * for known-answer tests (RFC 7677 §3) and for callers that make their
 * own nonces. @p nonce is 1..MAILOUT_SCRAM_NONCE_MAX printable ASCII
 * bytes (0x21..0x7e) without ','; copied. Same results as
 * mailout_sasl_start() otherwise.
 */
mailout_status mailout_sasl_start_scram_nonce(mailout_sasl *s, const char *user, const char *password,
                                              const char *nonce, size_t nonce_len, mailout_sasl_out *out);

/**
 * Answer a decoded 334 challenge (@p challenge may be NULL when @p len is 0).
 * Returns MAILOUT_OK with the response in @p out, or MAILOUT_E_AUTH when
 * the challenge is malformed or fails verification (SCRAM nonce or server
 * signature mismatch, too few or too many iterations, "e=" error, unknown
 * mandatory extension "m="), or asked for more steps than the mechanism
 * has; the engine then cancels with "*". SCRAM's server-first step runs
 * PBKDF2 (CPU only, two SHA-256 blocks per iteration).
 */
mailout_status mailout_sasl_step(mailout_sasl *s, const unsigned char *challenge, size_t len,
                                 mailout_sasl_out *out);

/**
 * The server said 235. Returns MAILOUT_OK, or MAILOUT_E_AUTH if the
 * mechanism required a verification that did not happen (SCRAM without a
 * verified server-final message), an earlier step failed, the server
 * reported an XOAUTH2 error, or nothing was started.
 */
mailout_status mailout_sasl_finish(const mailout_sasl *s);

/** Forget everything derived from the secret (wipes buffers) and the
 *  credential pointers. Safe on a wiped or zeroed struct. */
void mailout_sasl_wipe(mailout_sasl *s);

/* The same on the state alone, the working memory lent per step (@p w
 * may be NULL for a step that needs none: SCRAM's server-final). Wipe a
 * state with mailout_crypto_wipe(). */
mailout_status mailout_sasl_state_start(mailout_sasl_state *s, unsigned mech, const char *user, const char *secret,
                                        int (*random)(void *ctx, void *buf, size_t len), void *random_ctx,
                                        mailout_sasl_out *out);
mailout_status mailout_sasl_state_step(mailout_sasl_state *s, mailout_sasl_work *w, const unsigned char *challenge,
                                       size_t len, mailout_sasl_out *out);
mailout_status mailout_sasl_state_finish(const mailout_sasl_state *s);

/**
 * Choose a mechanism: the strongest in @p offered & @p allowed that is
 * built in and the credentials can drive. With a token: XOAUTH2 first
 * (a caller who gives a token means OAuth). With a password:
 * SCRAM-SHA-256 (needs @p have_random) > CRAM-MD5 > PLAIN > LOGIN.
 * @p allowed == MAILOUT_AUTH_ANY (0) allows every mechanism built in.
 * 0 when none fits.
 */
unsigned mailout_sasl_pick(unsigned offered, unsigned allowed, int have_password, int have_token,
                           int have_random);

/** Mechanism name as used on the wire ("SCRAM-SHA-256"), NULL if unknown.
 *  Known names are returned even for mechanisms compiled out. */
const char *mailout_sasl_name(unsigned mech);

/** Parse one AUTH keyword (case-insensitive) to its bit, 0 if unknown.
 *  Compiled-out mechanisms still parse (pick() filters them). */
unsigned mailout_sasl_from_name(const char *name, size_t len);

/** The bit of @p tok (@p len bytes, ASCII letters case-insensitive) in
 *  @p words, NUL-separated upper-case words ended by an empty one: word
 *  i is bit 1 << i. 0 if none matches whole. Shared with the EHLO
 *  keyword scanner (caps.c). */
unsigned mailout_word_bit(const char *words, const char *tok, size_t len);

#endif /* MAILOUT_SASL_H */

/*
 * Internal interface of lib/transport: the pieces of tcp.c and mx.c that
 * are worth testing without the network. Not installed.
 */
#ifndef MAILOUT_TRANSPORT_INTERNAL_H
#define MAILOUT_TRANSPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/status.h>

struct addrinfo;

/* RFC 8305 "Connection Attempt Delay": how long an attempt runs alone
 * before the next address (usually of the other family) is tried too. */
#define MAILOUT_TCP_STAGGER_MS 250u

/*
 * Connect to one of the addresses of @p list (as getaddrinfo returns it,
 * SOCK_STREAM). Addresses are tried with the families interleaved, starting
 * with the family of the first entry; each attempt gets @p stagger_ms alone
 * before the next one starts in parallel, and a failed attempt starts the
 * next one at once. The first attempt to complete wins; the others are
 * closed. The whole phase is bounded by @p timeout_ms.
 *
 * On success *fd is a connected, non-blocking, close-on-exec socket.
 * Returns MAILOUT_OK, MAILOUT_E_CONNECT (every address failed),
 * MAILOUT_E_TIMEOUT (the deadline passed with attempts still pending).
 */
mailout_status mailout_tcp_connect_list(const struct addrinfo *list, uint32_t timeout_ms, uint32_t stagger_ms,
                                        int *fd);

/*
 * Extract the mail exchanges for @p domain from a DNS answer to an MX query
 * (@p msg, @p len bytes, as res_query returns it), most preferred first
 * (equal preferences keep the order of the answer). With no MX record the
 * answer is the domain itself (implicit MX, RFC 5321 §5.1). A null MX
 * (RFC 7505: exchange ".") means the domain accepts no mail:
 * MAILOUT_E_RESOLVE. At most @p max names are stored.
 */
mailout_status mailout_mx_parse(const unsigned char *msg, size_t len, const char *domain, char (*hosts)[256],
                                size_t max, size_t *count);

/*
 * Certificate checks on DER (certcheck.c). mailout_cert_spki points
 * *spki into @p cert at the SubjectPublicKeyInfo element (header
 * included): MAILOUT_OK or MAILOUT_E_TLS when malformed.
 * mailout_cert_has_ip: 1 if a subjectAltName iPAddress equals the 4 or 16
 * octets of @p ip, else 0 (also for malformed input).
 */
mailout_status mailout_cert_spki(const unsigned char *cert, size_t len, const unsigned char **spki,
                                 size_t *spki_len);
int mailout_cert_has_ip(const unsigned char *cert, size_t len, const unsigned char *ip, size_t ip_len);

#endif /* MAILOUT_TRANSPORT_INTERNAL_H */

/* see mailout/transport.h: the TLS entry points of a build without
 * wolfSSL. They exist so that callers link either way and learn at run
 * time that TLS is missing; nothing ever falls back to plaintext. */
#include "internal.h"

#include <mailout/transport.h>

mailout_status mailout_tls_new(mailout_tls **out, const mailout_tls_config *cfg, const mailout_transport *lower,
                               mailout_transport *t)
{
    (void)out;
    (void)cfg;
    (void)lower;
    (void)t;
    return MAILOUT_E_UNSUPPORTED;
}

mailout_status mailout_tls_handshake(mailout_tls *tls)
{
    (void)tls;
    return MAILOUT_E_UNSUPPORTED;
}

void mailout_tls_free(mailout_tls *tls)
{
    (void)tls;
}

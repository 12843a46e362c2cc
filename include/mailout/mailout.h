/*
 * mailout — compose and send email from devices and servers.
 *
 * Umbrella header. The library is layered, one public header per layer,
 * each depending only on the ones before it:
 *
 *   status.h, mem.h, config_defaults.h   status codes, memory, limits
 *   encode.h     streaming base64, quoted-printable, CRLF/dot-stuff filter
 *   message.h    the message, its part tree, the streaming reader
 *   smtp.h       the I/O-free ESMTP engine and SASL
 *   transport.h  the transport contract; POSIX sockets and wolfSSL TLS
 *   client.h     blocking and non-blocking drivers
 */
#ifndef MAILOUT_MAILOUT_H
#define MAILOUT_MAILOUT_H

#define MAILOUT_VERSION_MAJOR 0
#define MAILOUT_VERSION_MINOR 1
#define MAILOUT_VERSION_PATCH 0
#define MAILOUT_VERSION_STRING "0.1.0"

#include <mailout/config_defaults.h>
#include <mailout/encode.h>
#include <mailout/mem.h>
#include <mailout/message.h>
#include <mailout/smtp.h>
#include <mailout/status.h>
#include <mailout/transport.h>
#include <mailout/client.h>
#include <mailout/outbox.h>

#endif /* MAILOUT_MAILOUT_H */

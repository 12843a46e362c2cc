/*
 * mailout — symbol visibility and private-field marking.
 *
 * The library is built with hidden visibility; only functions declared with
 * MAILOUT_API are exported from the shared object.
 *
 * Some structs are public only so that callers can place them anywhere
 * (static storage, stack) without malloc. Their fields are spelled through
 * MAILOUT_PRIVATE(): application code must not touch them, and their layout
 * may change between releases. The library itself and its tests define
 * MAILOUT_ALLOW_PRIVATE_ACCESS to use the plain names.
 */
#ifndef MAILOUT_VISIBILITY_H
#define MAILOUT_VISIBILITY_H

#if defined(MAILOUT_BUILDING) && defined(__GNUC__)
#define MAILOUT_API __attribute__((visibility("default")))
#else
#define MAILOUT_API
#endif

#ifdef MAILOUT_ALLOW_PRIVATE_ACCESS
#define MAILOUT_PRIVATE(member) member
#else
#define MAILOUT_PRIVATE(member) private_##member
#endif

#endif /* MAILOUT_VISIBILITY_H */

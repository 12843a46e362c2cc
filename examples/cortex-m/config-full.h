/*
 * Every feature of the library on a firmware: MIME with attachments, QP,
 * PIPELINING, BDAT, DSN, all SASL mechanisms. Only the status text table
 * is left out (mailout_strerror() costs ~2.4 KB of strings; firmware logs
 * the numeric code). Used by footprint.sh for the "full" row.
 */
#define MAILOUT_ENABLE_STATUS_TEXT 0

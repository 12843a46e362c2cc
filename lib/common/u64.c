/* see internal.h: 64-bit division without the libgcc helpers. */
#include "internal.h"

/* Restoring binary long division, one quotient bit per round: n is shifted
 * out at the top while the quotient bits are shifted in at the bottom. On a
 * 32-bit MCU this is ~40 bytes instead of __aeabi_uldivmod's ~700; the
 * callers (date, SIZE=, encoded sizes) run once per message, never per byte. */
uint64_t mailout_u64_divmod(uint64_t n, uint32_t d, uint32_t *rem)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 64; i++) {
        r = r << 1 | n >> 63;
        n <<= 1;
        if (r >= d) {
            r -= d;
            n |= 1;
        }
    }
    if (rem)
        *rem = (uint32_t)r;
    return n;
}

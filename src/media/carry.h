/* media/carry.h — the colour description of an original picture carried into its relabelled file (carry.c). */
#ifndef HG_MEDIA_CARRY_H
#define HG_MEDIA_CARRY_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

/* *fresh (malloc-ed, *fresh_len bytes) is the re-encoded file of the original orig; when the original has colour
 * chunks (PNG gAMA sRGB cHRM iCCP pHYs) or ICC_PROFILE segments (JPEG) that fit the fresh file, *fresh is replaced
 * by a copy holding them. Unchanged on any error. */
hg_status hg_media_carry_colour(const char *format, const uint8_t *orig, size_t len, uint8_t **fresh, size_t *fresh_len,
                                hg_error *err);

#endif

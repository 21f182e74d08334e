/* video.h — the explicit label of a video (video.c), private to src/media; the public entry is
 * hg_explicit_label_buffer (hegui/media.h). */
#ifndef HG_MEDIA_VIDEO_H
#define HG_MEDIA_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/media.h"

#define HG_VIDEO_LABEL_SECONDS 2.0 /* GB 45438-2025 4.4: the opening frames, at least 2 s */

/* 1 when the file (a container FFmpeg reads) holds a video stream that is not cover art. */
int hg_video_has_pictures(const uint8_t *in, size_t len);

/* The label drawn on every frame that starts within the first HG_VIDEO_LABEL_SECONDS (all of a shorter video), the
 * video encoded again (H.264, or MPEG-4 part 2), the other streams copied; MP4/MOV out. */
hg_status hg_video_label(const uint8_t *in, size_t len, const hg_visible_label *label, uint8_t **out, size_t *out_len,
                         hg_error *err);

#endif

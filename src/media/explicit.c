/* explicit.c — the explicit label of a whole file: one table from format to the function that labels it.
 *
 * Images are decoded, labelled with hg_raster_draw_label and encoded again in their own format, keeping their colour
 * description (carry.c). Audio and video add their rows to the same table. A format without a row has no explicit label
 * here (text formats get theirs from the gateway, which writes the notice into the text itself). */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "hegui/filelabel.h"
#include "hegui/media.h"
#include "media/carry.h"
#include "media/spoken.h"
#include "media/video.h"

typedef hg_status (*explicit_labeller)(const char *format, const uint8_t *in, size_t len,
                                       const hg_explicit_options *options, uint8_t **out, size_t *out_len,
                                       hg_error *err);

/* A JPEG is written back near the quality it came at (no bigger file, no visibly worse one), but never under 75:
 * below that the label's edges ring. PNG ignores the figure. */
static int jpeg_quality(const char *format, const uint8_t *in, size_t len) {
  if (strcmp(format, "jpeg")) return 0;
  int q = hg_jpeg_quality_estimate(in, len);
  return q == 0 ? HG_JPEG_QUALITY_DEFAULT : q < 75 ? 75 : q > 95 ? 95 : q;
}

static hg_status label_image(const char *format, const uint8_t *in, size_t len, const hg_explicit_options *o,
                             uint8_t **out, size_t *out_len, hg_error *err) {
  hg_raster r;
  const char *found = NULL;
  hg_status st = hg_image_decode(in, len, &r, &found, err);
  if (st) return st;
  if (!found || strcmp(found, format)) {
    hg_raster_free(&r);
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "the file is %s, not %s", found ? found : "unknown", format);
  }
  if (!(st = hg_raster_draw_label(&r, o ? &o->visible : NULL, NULL, err)))
    st = hg_image_encode(&r, format, jpeg_quality(format, in, len), out, out_len, err);
  hg_raster_free(&r);
  if (!st && (st = hg_media_carry_colour(format, in, len, out, out_len, err))) {
    free(*out);
    *out = NULL;
    *out_len = 0;
  }
  return st;
}

/* Audio: the spoken label (spoken.c) at the start or the end; a WAV file gets it without re-encoding (audio_wav.c),
 * the compressed formats are decoded and encoded again (audio.c). */
static hg_status label_audio(const char *format, const uint8_t *in, size_t len, const hg_explicit_options *o,
                             uint8_t **out, size_t *out_len, hg_error *err) {
  hg_pcm label;
  hg_status st = hg_spoken_label(o ? o->spoken_text : NULL, o ? o->spoken_kind : HG_SPOKEN_SPEECH, &label, err);
  if (st) return st;
  int at_end = o && o->spoken_at_end;
  if (!strcmp(format, "wav"))
    st = hg_wav_insert_label(in, len, &label, at_end, out, out_len, err);
  else
    st = hg_audio_insert_label(format, in, len, &label, at_end, out, out_len, err);
  hg_pcm_free(&label);
  return st;
}

/* MP4/MOV: a video gets the visible label on its opening frames (video.c); a file of sound only (M4A) the spoken one */
static hg_status label_mp4(const char *format, const uint8_t *in, size_t len, const hg_explicit_options *o,
                           uint8_t **out, size_t *out_len, hg_error *err) {
  if (!hg_video_has_pictures(in, len)) return label_audio(format, in, len, o, out, out_len, err);
  return hg_video_label(in, len, o ? &o->visible : NULL, out, out_len, err);
}

static const struct {
  const char *format;
  explicit_labeller labeller;
} labellers[] = {
    {"png", label_image}, {"jpeg", label_image}, {"webp", label_image}, {"wav", label_audio},
    {"mp3", label_audio}, {"flac", label_audio}, {"ogg", label_audio},  {"mp4", label_mp4},
};

hg_status hg_explicit_label_buffer(const char *format, const uint8_t *in, size_t len,
                                   const hg_explicit_options *options, uint8_t **out, size_t *out_len, hg_error *err) {
  *out = NULL;
  *out_len = 0;
  if (!format) format = hg_label_format_detect(in, len, NULL);
  if (!format) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a file format hegui labels");
  for (size_t i = 0; i < sizeof labellers / sizeof labellers[0]; i++)
    if (!strcmp(labellers[i].format, format)) return labellers[i].labeller(format, in, len, options, out, out_len, err);
  return hg_fail(err, HG_ERR_INVALID, 0, 0, "no explicit label for %s files", format);
}

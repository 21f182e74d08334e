/* hegui/media.h — pixels, and the visible (explicit) label drawn on them.
 *
 * An hg_raster is 8-bit RGBA, rows top to bottom, owned by whoever made it. Images come in and go out as the bytes of
 * a PNG or JPEG file (hg_image_decode / hg_image_encode); video frames are converted to and from it by the video code.
 * The explicit label of GB 45438 (section 4.2: text such as "AI生成" on the image, its height at least 5% of the
 * shortest side, at a corner or an edge, legible on any background) is drawn by hg_raster_draw_label with FreeType and
 * a CJK font. The same call labels every frame of a video's opening seconds, so a picture and a video look alike. */
#ifndef HEGUI_MEDIA_H
#define HEGUI_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_raster {
  uint8_t *px; /* RGBA, 4 bytes a pixel */
  uint32_t width;
  uint32_t height;
  size_t stride; /* bytes from one row to the next, >= 4 * width */
} hg_raster;

/* The most pixels a decoded image may have: 50 million (200 MB of RGBA). More is HG_ERR_LIMIT, found from the
 * header before any pixel is allocated. */
#define HG_IMAGE_PIXELS_MAX 50000000u
#define HG_JPEG_QUALITY_DEFAULT 92 /* what a relabelled JPEG is written at */

/* A raster of width x height pixels, malloc-ed, uninitialised, stride 4 * width. */
hg_status hg_raster_new(hg_raster *r, uint32_t width, uint32_t height, hg_error *err);
/* Frees the pixels and zeroes the struct (safe on a zeroed or NULL raster). */
void hg_raster_free(hg_raster *r);

/* Decodes a PNG, JPEG or WebP (still) file (told apart by its first bytes) into *out, 8-bit RGBA whatever the file's
 * colour type, bit depth, palette, transparency or interlace (JPEG: grey, YCbCr, CMYK/YCCK). *format (may be NULL) is
 * set to "png" or "jpeg" as soon as the signature is known. HG_ERR_PARSE for anything else, and for truncated or
 * corrupt data (libjpeg's warnings count: a short JPEG is refused, not padded with grey); HG_ERR_LIMIT over
 * HG_IMAGE_PIXELS_MAX pixels or over 256 progressive scans. A JPEG's EXIF orientation is applied: the raster is the
 * picture upright, as a viewer shows it. Metadata (EXIF, ICC, text chunks) is not kept. */
hg_status hg_image_decode(const uint8_t *data, size_t len, hg_raster *out, const char **format, hg_error *err);

/* 1 when a WebP file is lossless (VP8L): a labelled copy is written lossless too (hg_image_encode quality 101). */
int hg_webp_lossless(const uint8_t *data, size_t len);

/* Encodes r as "png" (8-bit RGB when every pixel is opaque, else RGBA; zlib level 3) or "jpeg" (quality 1..100,
 * 0 means HG_JPEG_QUALITY_DEFAULT; 4:2:0; alpha ignored). *out is malloc-ed. */
hg_status hg_image_encode(const hg_raster *r, const char *format, int quality, uint8_t **out, size_t *out_len,
                          hg_error *err);

/* Where the label goes. */
typedef enum hg_label_place {
  HG_PLACE_BOTTOM_RIGHT = 0, /* the default */
  HG_PLACE_BOTTOM_LEFT,
  HG_PLACE_TOP_RIGHT,
  HG_PLACE_TOP_LEFT,
  HG_PLACE_BOTTOM_EDGE, /* centred along the bottom edge */
  HG_PLACE_TOP_EDGE
} hg_label_place;

typedef struct hg_visible_label {
  const char *text;      /* UTF-8; NULL means "AI生成" */
  const char *font_path; /* a TrueType/OpenType file or collection; NULL means the default CJK font */
  double height_ratio;   /* text height / shortest side; 0 means 0.05, below 0.05 is refused */
  hg_label_place place;
} hg_visible_label;

/* The box the label covers (background plate included), in pixels. */
typedef struct hg_label_box {
  uint32_t x, y, width, height;
  uint32_t text_height; /* the height of the drawn glyphs' ink, the figure the 5% rule is about */
} hg_label_box;

#define HG_LABEL_TEXT_DEFAULT "AI生成"
#define HG_LABEL_FONT_DEFAULT "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
#define HG_LABEL_HEIGHT_RATIO_MIN 0.05 /* GB 45438 4.2 */
#define HG_LABEL_TEXT_MIN_PX 8         /* below this glyphs are not legible, whatever 5% of a tiny picture is */

/* Draws the label on r in place. box (may be NULL) says where it went.
 * The text must hold "人工智能" or "AI" and "生成" or "合成" (HG_ERR_INVALID otherwise), at most 64 characters. Its
 * ink height (rows with a pixel at least 75% covered) is at least ceil(height_ratio x shortest side) and at least
 * HG_LABEL_TEXT_MIN_PX; height_ratio is 0.05..0.5. The text sits on an 80%-opaque plate (dark over a light picture,
 * light over a dark one; the text in the opposite extreme) a margin of max(2, shortest/50) px from the edges. A
 * label too wide at height_ratio is drawn at 0.05; HG_ERR_LIMIT if it does not fit even then. HG_ERR_IO when the
 * font cannot be read. Safe to call from several threads (faces are cached per path, see src/media/draw.c). */
hg_status hg_raster_draw_label(hg_raster *r, const hg_visible_label *label, hg_label_box *box, hg_error *err);

/* The quality (1..100) a JPEG's luminance quantisation table corresponds to on the IJG scale, or 0 when the file has
 * none before its first scan. An estimate: encoders with their own tables land near the IJG quality of equal size. */
int hg_jpeg_quality_estimate(const uint8_t *data, size_t len);

/* ---- the explicit label of a whole file, any media type (src/media/explicit.c: one table, format -> labeller) ---- */

typedef enum hg_spoken_kind {
  HG_SPOKEN_SPEECH = 0, /* the label text spoken in Mandarin (espeak-ng), 120-160 characters a minute */
  HG_SPOKEN_RHYTHM      /* the rhythm short-long-short-short instead of words */
} hg_spoken_kind;

typedef struct hg_explicit_options {
  hg_visible_label visible; /* images, and the opening frames of a video */
  const char *spoken_text;  /* audio; NULL means "本内容由人工智能生成" */
  hg_spoken_kind spoken_kind;
  int spoken_at_end; /* audio: 0 at the start, 1 at the end */
} hg_explicit_options;

/* Adds the explicit label to the file in memory (format as hg_label_format_detect names it, or NULL to detect).
 * *out (malloc-ed, *out_len bytes) is a file of the same format; the implicit label is the caller's next step
 * (hg_label_buffer_add), so that the content hash it signs covers the labelled pixels and samples. HG_ERR_INVALID
 * names a format that has no explicit label here (text formats: the gateway adds the notice to the text). */
hg_status hg_explicit_label_buffer(const char *format, const uint8_t *in, size_t len,
                                   const hg_explicit_options *options, uint8_t **out, size_t *out_len, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif

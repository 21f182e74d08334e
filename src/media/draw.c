/* draw.c — the visible label of GB 45438 section 4.2 drawn on a raster: text on a plate, in a corner or at an edge.
 *
 * The text is rendered with FreeType into a coverage mask, at the smallest pixel size whose ink is at least the
 * required height: "ink" counts rows where some pixel is at least 75% covered, so what a viewer (or a test that
 * looks for text-coloured pixels) sees as text is that tall, not just its faint anti-aliased fringe. The required
 * height is height_ratio (0.05 by default, never less) times the shortest side, rounded up, and never under
 * HG_LABEL_TEXT_MIN_PX so that a small picture still carries readable glyphs. The plate under the text is 80%
 * opaque, dark where the picture under it is light and light where it is dark, and the text takes the other extreme:
 * whatever the background, text and plate differ by at least 80% of the luminance range.
 *
 * A label wider than the picture is drawn at the 5% minimum instead of the requested ratio; if even that does not fit
 * the call fails with HG_ERR_LIMIT (no wrapping: a label split over lines is harder to read at a glance).
 *
 * Faces are costly to open (the default .ttc is 5 MB): each font path gets one FT_Library and FT_Face for the life of
 * the process, kept in a small table behind a mutex. An FT_Face is not safe for two threads at once, so each entry
 * has its own lock, held only while the glyphs are rendered into the mask; blending onto the picture runs unlocked. */
#include <ft2build.h>
#include FT_FREETYPE_H
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "hegui/media.h"
#include "hegui/text.h"

#define TEXT_CODEPOINTS_MAX 64
#define FONT_CACHE_MAX 8
#define MASK_BYTES_MAX (64u << 20)
#define PLATE_ALPHA 204     /* 80% */
#define STRONG_COVERAGE 192 /* a row counts toward the text height when a pixel in it is 75% covered */

/* ---- the face cache ----------------------------------------------------------------------------------------- */

typedef struct font_entry {
  char *path;
  FT_Library library;
  FT_Face face;
  pthread_mutex_t lock; /* the face's, while it renders */
} font_entry;

static pthread_mutex_t font_table_lock = PTHREAD_MUTEX_INITIALIZER;
static font_entry font_table[FONT_CACHE_MAX];
static int font_count;

static hg_status font_open(const char *path, font_entry **out, hg_error *err) {
  pthread_mutex_lock(&font_table_lock);
  for (int i = 0; i < font_count; i++)
    if (!strcmp(font_table[i].path, path)) {
      *out = &font_table[i];
      pthread_mutex_unlock(&font_table_lock);
      return HG_OK;
    }
  hg_status st = HG_OK;
  font_entry e = {0};
  if (font_count == FONT_CACHE_MAX) {
    st = hg_fail(err, HG_ERR_LIMIT, 0, 0, "%s: at most %d different label fonts per process", path, FONT_CACHE_MAX);
  } else if (access(path, R_OK) != 0) {
    st = hg_fail(err, HG_ERR_IO, 0, 0,
                 "label font %s cannot be read (install fonts-wqy-microhei, or name a CJK font with --font)", path);
  } else if (FT_Init_FreeType(&e.library)) {
    st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "FreeType failed to initialise");
  } else if (FT_New_Face(e.library, path, 0, &e.face)) {
    FT_Done_FreeType(e.library);
    st = hg_fail(err, HG_ERR_PARSE, 0, 0, "label font %s is not a font FreeType can read", path);
  } else if (!(e.path = strdup(path))) {
    FT_Done_Face(e.face);
    FT_Done_FreeType(e.library);
    st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  } else {
    pthread_mutex_init(&e.lock, NULL);
    font_table[font_count] = e;
    *out = &font_table[font_count++];
  }
  pthread_mutex_unlock(&font_table_lock);
  return st;
}

/* ---- the text mask --------------------------------------------------------------------------------------------- */

typedef struct mask {
  uint8_t *cov; /* coverage 0..255, width x height, cropped to the ink */
  uint32_t width, height;
  uint32_t strong_top, strong_height; /* rows holding a pixel at least half covered */
} mask;

/* Renders the text at one pixel size into m (cropped). Called with the face locked. */
static hg_status render_at(FT_Face face, const uint32_t *cps, size_t n, uint32_t size, mask *m, hg_error *err) {
  memset(m, 0, sizeof *m);
  if (FT_Set_Pixel_Sizes(face, 0, size)) return hg_fail(err, HG_ERR_INVALID, 0, 0, "the font has no %u px size", size);
  uint64_t advance_total = 0;
  for (size_t i = 0; i < n; i++) {
    if (FT_Load_Char(face, cps[i], FT_LOAD_DEFAULT))
      return hg_fail(err, HG_ERR_INVALID, 0, 0, "the label font cannot load U+%04X", cps[i]);
    advance_total += (uint64_t)(face->glyph->advance.x >> 6) + 1;
  }
  uint64_t cw = advance_total + 4ull * size, ch = 3ull * size;
  if (cw * ch > MASK_BYTES_MAX) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "a label of %u px glyphs is too large", size);
  uint8_t *canvas = calloc(cw * ch, 1);
  if (!canvas) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  int64_t pen = 2 * (int64_t)size, baseline = 2 * (int64_t)size;
  for (size_t i = 0; i < n; i++) {
    if (FT_Load_Char(face, cps[i], FT_LOAD_RENDER)) {
      free(canvas);
      return hg_fail(err, HG_ERR_INVALID, 0, 0, "the label font cannot render U+%04X", cps[i]);
    }
    FT_GlyphSlot g = face->glyph;
    const FT_Bitmap *b = &g->bitmap;
    for (unsigned row = 0; row < b->rows; row++) {
      int64_t y = baseline - g->bitmap_top + row;
      if (y < 0 || y >= (int64_t)ch) continue;
      const uint8_t *src = b->buffer + (ptrdiff_t)row * b->pitch;
      for (unsigned col = 0; col < b->width; col++) {
        int64_t x = pen + g->bitmap_left + col;
        if (x < 0 || x >= (int64_t)cw) continue;
        uint8_t v = b->pixel_mode == FT_PIXEL_MODE_MONO   ? ((src[col >> 3] >> (7 - (col & 7))) & 1) * 255
                    : b->pixel_mode == FT_PIXEL_MODE_GRAY ? src[col]
                                                          : 0;
        uint8_t *d = &canvas[y * cw + x];
        if (v > *d) *d = v;
      }
    }
    pen += g->advance.x >> 6;
  }
  uint64_t x0 = cw, x1 = 0, y0 = ch, y1 = 0, s0 = ch, s1 = 0;
  for (uint64_t y = 0; y < ch; y++)
    for (uint64_t x = 0; x < cw; x++) {
      uint8_t v = canvas[y * cw + x];
      if (!v) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (v >= STRONG_COVERAGE) {
        if (y < s0) s0 = y;
        if (y > s1) s1 = y;
      }
    }
  if (x0 > x1 || s0 > s1) {
    free(canvas);
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "the label text draws no visible ink in this font");
  }
  m->width = (uint32_t)(x1 - x0 + 1);
  m->height = (uint32_t)(y1 - y0 + 1);
  m->strong_top = (uint32_t)(s0 - y0);
  m->strong_height = (uint32_t)(s1 - s0 + 1);
  m->cov = malloc((size_t)m->width * m->height);
  if (!m->cov) {
    free(canvas);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  for (uint32_t y = 0; y < m->height; y++)
    memcpy(m->cov + (size_t)y * m->width, canvas + (y0 + y) * cw + x0, m->width);
  free(canvas);
  return HG_OK;
}

/* The smallest size (near enough: a step or two) whose strong ink is at least target rows. */
static hg_status render_text(font_entry *f, const uint32_t *cps, size_t n, uint32_t target, mask *m, hg_error *err) {
  pthread_mutex_lock(&f->lock);
  uint32_t size = target;
  hg_status st = HG_ERR_INVALID;
  for (int attempt = 0; attempt < 16; attempt++) {
    if ((st = render_at(f->face, cps, n, size, m, err))) break;
    if (m->strong_height >= target) break;
    uint32_t next = (uint32_t)(((uint64_t)size * target + m->strong_height - 1) / m->strong_height);
    size = next > size ? next : size + 1;
    free(m->cov);
    m->cov = NULL;
    st = hg_fail(err, HG_ERR_INVALID, 0, 0, "the label font does not reach a text height of %u px", target);
  }
  pthread_mutex_unlock(&f->lock);
  if (st) {
    free(m->cov);
    memset(m, 0, sizeof *m);
  }
  return st;
}

/* ---- the label ------------------------------------------------------------------------------------------------- */

static int contains(const char *s, const char *word) { return strstr(s, word) != NULL; }

static hg_status check_text(const char *text, uint32_t *cps, size_t *n, hg_error *err) {
  size_t len = strlen(text), bad;
  if (hg_utf8_validate(text, len, &bad))
    return hg_fail(err, HG_ERR_UTF8, 0, bad, "the label text is not valid UTF-8 (byte %zu)", bad);
  if (!(contains(text, "AI") || contains(text, "人工智能")) || !(contains(text, "生成") || contains(text, "合成")))
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "the label text \"%.60s\" must name \"人工智能\" or \"AI\" and \"生成\" or \"合成\" (GB 45438 4.2)",
                   text);
  *n = 0;
  for (size_t at = 0; at < len;) {
    if (*n == TEXT_CODEPOINTS_MAX)
      return hg_fail(err, HG_ERR_LIMIT, 0, at, "the label text is over %d characters", TEXT_CODEPOINTS_MAX);
    int used = hg_utf8_decode((const uint8_t *)text + at, len - at, &cps[*n]);
    if (used <= 0) return hg_fail(err, HG_ERR_UTF8, 0, at, "the label text is not valid UTF-8");
    at += (size_t)used;
    (*n)++;
  }
  return HG_OK;
}

static uint32_t luminance(const uint8_t *p) { return (299u * p[0] + 587u * p[1] + 114u * p[2] + 500) / 1000; }

/* Straight-alpha "over": colour c at alpha a (0..255) onto the pixel d. */
static void blend(uint8_t *d, uint8_t c, unsigned a) {
  if (!a) return;
  unsigned da = d[3];
  if (da == 255 || a == 255) {
    for (int k = 0; k < 3; k++)
      d[k] = (uint8_t)((c * a + d[k] * (255 - a) + 127) / 255);
    d[3] = (uint8_t)(a == 255 ? 255 : da);
    return;
  }
  unsigned out_a = a * 255 + da * (255 - a); /* x255 */
  for (int k = 0; k < 3; k++)
    d[k] = (uint8_t)((c * a * 255 + d[k] * da * (255 - a) + out_a / 2) / out_a);
  d[3] = (uint8_t)((out_a + 127) / 255);
}

hg_status hg_raster_draw_label(hg_raster *r, const hg_visible_label *label, hg_label_box *box, hg_error *err) {
  static const hg_visible_label defaults = {0};
  if (!label) label = &defaults;
  if (!r || !r->px || !r->width || !r->height || r->stride < (size_t)r->width * 4)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_raster_draw_label: not a raster");
  double ratio = label->height_ratio == 0 ? HG_LABEL_HEIGHT_RATIO_MIN : label->height_ratio;
  if (!(ratio >= HG_LABEL_HEIGHT_RATIO_MIN && ratio <= 0.5))
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "label height ratio %g is outside 0.05..0.5 (GB 45438: at least 5%% of the shortest side)", ratio);
  if ((unsigned)label->place > HG_PLACE_TOP_EDGE) return hg_fail(err, HG_ERR_INVALID, 0, 0, "unknown label place");
  uint32_t cps[TEXT_CODEPOINTS_MAX];
  size_t n = 0;
  hg_status st = check_text(label->text ? label->text : HG_LABEL_TEXT_DEFAULT, cps, &n, err);
  if (st) return st;
  font_entry *font = NULL;
  if ((st = font_open(label->font_path ? label->font_path : HG_LABEL_FONT_DEFAULT, &font, err))) return st;

  uint32_t shortest = r->width < r->height ? r->width : r->height;
  uint32_t margin = shortest / 50 > 2 ? shortest / 50 : 2;
  /* the rule's height, rounded up; the small epsilon keeps 0.05 * 200 at 10, not 11 */
  uint32_t minimum = (uint32_t)ceil(HG_LABEL_HEIGHT_RATIO_MIN * shortest - 1e-9);
  uint32_t wanted = (uint32_t)ceil(ratio * shortest - 1e-9);
  if (minimum < HG_LABEL_TEXT_MIN_PX) minimum = HG_LABEL_TEXT_MIN_PX;
  if (wanted < minimum) wanted = minimum;

  mask m = {0};
  uint32_t pad = 0, bw = 0, bh = 0;
  for (uint32_t target = wanted;; target = minimum) {
    if ((st = render_text(font, cps, n, target, &m, err))) return st;
    pad = (m.strong_height * 3 + 9) / 10;
    if (pad < 2) pad = 2;
    bw = m.width + 2 * pad;
    bh = m.height + 2 * pad;
    if ((uint64_t)bw + 2 * margin <= r->width && (uint64_t)bh + 2 * margin <= r->height) break;
    free(m.cov);
    m.cov = NULL;
    if (target == minimum)
      return hg_fail(err, HG_ERR_LIMIT, 0, 0,
                     "a %ux%u image is too small for the label \"%.60s\" at %u px (the label needs %ux%u px with its "
                     "plate and margins); use a shorter --label-text",
                     r->width, r->height, label->text ? label->text : HG_LABEL_TEXT_DEFAULT, target, bw + 2 * margin,
                     bh + 2 * margin);
  }

  uint32_t x, y;
  switch (label->place) {
  case HG_PLACE_BOTTOM_LEFT: x = margin, y = r->height - margin - bh; break;
  case HG_PLACE_TOP_RIGHT: x = r->width - margin - bw, y = margin; break;
  case HG_PLACE_TOP_LEFT: x = margin, y = margin; break;
  case HG_PLACE_BOTTOM_EDGE: x = (r->width - bw) / 2, y = r->height - margin - bh; break;
  case HG_PLACE_TOP_EDGE: x = (r->width - bw) / 2, y = margin; break;
  default: x = r->width - margin - bw, y = r->height - margin - bh; break;
  }

  uint64_t sum = 0;
  for (uint32_t j = 0; j < bh; j++) {
    const uint8_t *row = r->px + (size_t)(y + j) * r->stride + (size_t)x * 4;
    for (uint32_t i = 0; i < bw; i++)
      sum += luminance(row + 4 * i);
  }
  int dark_plate = sum / ((uint64_t)bw * bh) >= 128;
  uint8_t plate = dark_plate ? 0 : 255, ink = dark_plate ? 255 : 0;
  for (uint32_t j = 0; j < bh; j++) {
    uint8_t *row = r->px + (size_t)(y + j) * r->stride + (size_t)x * 4;
    for (uint32_t i = 0; i < bw; i++)
      blend(row + 4 * i, plate, PLATE_ALPHA);
  }
  for (uint32_t j = 0; j < m.height; j++) {
    uint8_t *row = r->px + (size_t)(y + pad + j) * r->stride + (size_t)(x + pad) * 4;
    const uint8_t *cov = m.cov + (size_t)j * m.width;
    for (uint32_t i = 0; i < m.width; i++)
      blend(row + 4 * i, ink, cov[i]);
  }
  if (box) *box = (hg_label_box){.x = x, .y = y, .width = bw, .height = bh, .text_height = m.strong_height};
  free(m.cov);
  return HG_OK;
}

/* sample_media.c — the sample upstream's image and audio routes: POST /v1/images/generations, /v1/images/edits,
 * /v1/audio/speech, /v1/audio/transcriptions, and GET /files/NAME for the images it answers with a url.
 *
 * What comes back is chosen by the request, so that tests and the tour decide the content:
 *   - an image shows the text of a marker __text:HEX__ (the UTF-8 bytes in hex, so that the prompt itself holds no
 *     word a lexicon would stop) anywhere in the prompt, or else "示例图片 sample image", drawn large on a coloured
 *     background; __jpeg__ makes it a JPEG; n images of the size asked ("WxH", at most 2048 a side).
 *   - response_format url: the answer names http://HOST/files/NAME, HOST being the Host the request came to;
 *     __otherhost__ names localhost instead of 127.0.0.1 (another host, for the gateway's allowlist), __redirect__
 *     names a file on the same host that redirects (302) to localhost.
 *   - speech: a WAV of tones, one per character of the input (a sample model that speaks in tones), 24 kHz mono;
 *     other formats are refused with 400, the way an upstream refuses what it cannot make.
 *   - a transcription is the marker's text, or "这是示例转写。This is a sample transcript."
 *   - __hold__ in an image request (with --hold-file FILE): the answer waits while FILE is absent, and FILE.waiting
 *     is created when it starts waiting (a test's handle on an image call in flight).
 * The text is drawn here with FreeType (the WenQuanYi font), not by hegui's label code, so that what hegui's OCR
 * reads was drawn by another hand; the file is encoded by libhegui's hg_image_encode. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#include "hegui/media.h"
#include "sample_media.h"

#define MAX_SIDE 2048
#define FILES 32 /* images kept for GET /files/NAME, the oldest replaced first */

static struct file {
  char name[40];
  unsigned char *data;
  size_t len;
  const char *type;
} files[FILES];
static unsigned next_file, file_serial;

static void reply(struct evhttp_request *req, int status, const char *type, const void *body, size_t len) {
  struct evbuffer *b = evbuffer_new();
  if (b) evbuffer_add(b, body, len);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
  evhttp_send_reply(req, status,
                    status == 200   ? "OK"
                    : status == 302 ? "Found"
                    : status == 404 ? "Not Found"
                                    : "Bad Request",
                    b);
  if (b) evbuffer_free(b);
}

static void reply_json(struct evhttp_request *req, int status, json_t *j) {
  char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!s) s = strdup("{}");
  reply(req, status, "application/json", s, strlen(s));
  free(s);
}

static void reply_error(struct evhttp_request *req, int status, const char *msg) {
  reply_json(
      req, status,
      json_pack("{s:{s:s, s:s, s:n, s:n}}", "error", "message", msg, "type", "invalid_request_error", "param", "code"));
}

/* The whole body as a NUL-terminated string (it may hold NULs: files). */
static char *body_of(struct evhttp_request *req, size_t *len) {
  struct evbuffer *b = evhttp_request_get_input_buffer(req);
  *len = evbuffer_get_length(b);
  char *s = malloc(*len + 1);
  if (!s) return NULL;
  evbuffer_copyout(b, s, *len);
  s[*len] = '\0';
  return s;
}

static int has(const char *body, size_t len, const char *marker) {
  return memmem(body, len, marker, strlen(marker)) != NULL;
}

/* The text of __text:HEX__, or def. */
static char *marker_text(const char *body, size_t len, const char *def) {
  const char *m = memmem(body, len, "__text:", 7);
  if (m) {
    const char *h = m + 7, *end = memmem(h, len - (size_t)(h - body), "__", 2);
    if (end && (end - h) % 2 == 0 && end - h <= 1024) {
      size_t n = (size_t)(end - h) / 2;
      char *t = malloc(n + 1);
      int ok = t != NULL;
      for (size_t i = 0; ok && i < n; i++) {
        unsigned v;
        ok = sscanf(h + 2 * i, "%2x", &v) == 1;
        if (ok) t[i] = (char)v;
      }
      if (ok && n) {
        t[n] = '\0';
        return t;
      }
      free(t);
    }
  }
  return strdup(def);
}

/* Draws text in black, glyph height px, from (x, y) (top left), on r; wraps at the right edge. */
static void draw_text(hg_raster *r, const char *text, unsigned px, unsigned x0, unsigned y0) {
  static FT_Library lib;
  static FT_Face face;
  if (!lib && (FT_Init_FreeType(&lib) || FT_New_Face(lib, "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, &face)))
    return;
  FT_Set_Pixel_Sizes(face, 0, px);
  unsigned x = x0, base = y0 + px;
  for (const unsigned char *p = (const unsigned char *)text; *p;) {
    unsigned cp = *p, n = cp < 0x80 ? 1 : cp < 0xE0 ? 2 : cp < 0xF0 ? 3 : 4;
    cp = n == 1 ? cp : n == 2 ? cp & 0x1F : n == 3 ? cp & 0x0F : cp & 0x07;
    for (unsigned k = 1; k < n && p[k]; k++)
      cp = cp << 6 | (p[k] & 0x3F);
    p += n;
    if (FT_Load_Char(face, cp, FT_LOAD_RENDER)) continue;
    FT_GlyphSlot g = face->glyph;
    if (x + (unsigned)(g->advance.x >> 6) > r->width - x0) {
      x = x0;
      base += px * 5 / 4;
    }
    for (unsigned gy = 0; gy < g->bitmap.rows; gy++)
      for (unsigned gx = 0; gx < g->bitmap.width; gx++) {
        long X = (long)x + g->bitmap_left + gx, Y = (long)base - g->bitmap_top + gy;
        if (X < 0 || Y < 0 || X >= (long)r->width || Y >= (long)r->height) continue;
        unsigned a = g->bitmap.buffer[gy * (unsigned)g->bitmap.pitch + gx];
        unsigned char *q = r->px + (size_t)Y * r->stride + (size_t)X * 4;
        for (int c = 0; c < 3; c++)
          q[c] = (unsigned char)(q[c] * (255 - a) / 255 + 20 * a / 255);
      }
    x += (unsigned)(g->advance.x >> 6);
  }
}

static unsigned char *make_image(const char *text, unsigned w, unsigned h, int jpeg, unsigned seed, size_t *len) {
  hg_raster r = {calloc((size_t)w * h, 4), w, h, (size_t)w * 4};
  if (!r.px) return NULL;
  for (unsigned y = 0; y < h; y++) /* a soft, light gradient, a different hue per image */
    for (unsigned x = 0; x < w; x++) {
      unsigned char *p = r.px + (size_t)y * r.stride + (size_t)x * 4;
      p[0] = (unsigned char)(170 + 60 * x / w + seed * 17 % 20);
      p[1] = (unsigned char)(190 + 50 * y / h);
      p[2] = (unsigned char)(230 - 40 * x / w);
      p[3] = 255;
    }
  unsigned side = w < h ? w : h, px = side / 9 < 12 ? 12 : side / 9;
  draw_text(&r, text, px, side / 16, side / 16);
  unsigned char *out = NULL;
  hg_error err;
  if (hg_image_encode(&r, jpeg ? "jpeg" : "png", 90, &out, len, &err)) {
    fprintf(stderr, "sample_upstream: image not made: %s\n", err.message);
    out = NULL;
  }
  free(r.px);
  return out;
}

static char *keep_file(unsigned char *data, size_t len, const char *type) {
  struct file *f = &files[next_file];
  next_file = (next_file + 1) % FILES;
  free(f->data);
  f->data = data;
  f->len = len;
  f->type = type;
  snprintf(f->name, sizeof f->name, "img-%u.%s", ++file_serial, strcmp(type, "image/png") ? "jpg" : "png");
  return f->name;
}

static char *base64(const unsigned char *d, size_t n) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *s = malloc((n + 2) / 3 * 4 + 1), *o = s;
  if (!s) return NULL;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
    *o++ = t[v >> 18 & 63];
    *o++ = t[v >> 12 & 63];
    *o++ = i + 1 < n ? t[v >> 6 & 63] : '=';
    *o++ = i + 2 < n ? t[v & 63] : '=';
  }
  *o = '\0';
  return s;
}

/* __hold__: the answer waits while the --hold-file is absent (polled); "<hold-file>.waiting" says it is waiting */
typedef struct held {
  struct evhttp_request *req;
  int edit;
  const char *hold_path;
  struct event *timer;
} held;

static void on_hold(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  held *h = arg;
  if (access(h->hold_path, F_OK) != 0) {
    struct timeval tv = {0, 10000};
    evtimer_add(h->timer, &tv);
    return;
  }
  event_free(h->timer);
  struct evhttp_request *req = h->req;
  int edit = h->edit;
  free(h);
  sample_images(req, edit, NULL);
}

void sample_images(struct evhttp_request *req, int edit, const char *hold_path) {
  if (hold_path) {
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evbuffer_ptr at = evbuffer_search(in, "__hold__", 8, NULL);
    if (at.pos >= 0) {
      held *h = calloc(1, sizeof *h);
      struct event_base *base = evhttp_connection_get_base(evhttp_request_get_connection(req));
      if (h && base && (h->timer = evtimer_new(base, on_hold, h))) {
        h->req = req, h->edit = edit, h->hold_path = hold_path;
        char waiting[600];
        snprintf(waiting, sizeof waiting, "%s.waiting", hold_path);
        FILE *f = fopen(waiting, "w");
        if (f) fclose(f);
        on_hold(-1, 0, h);
        return;
      }
      free(h);
    }
  }
  size_t len;
  char *body = body_of(req, &len);
  if (!body) return reply_error(req, 500, "out of memory");
  unsigned w = 512, h = 512, n = 1;
  int url = 0;
  if (!edit) {
    json_t *j = json_loads(body, 0, NULL);
    const char *size = json_string_value(json_object_get(j, "size"));
    if (size && sscanf(size, "%ux%u", &w, &h) != 2) w = h = 0;
    json_t *jn = json_object_get(j, "n");
    if (json_is_integer(jn)) n = (unsigned)json_integer_value(jn);
    const char *f = json_string_value(json_object_get(j, "response_format"));
    url = !f || !strcmp(f, "url");
    if (!json_is_string(json_object_get(j, "prompt"))) w = 0;
    json_decref(j);
  } else {
    url = !has(body, len, "b64_json");
  }
  if (w < 16 || h < 16 || w > MAX_SIDE || h > MAX_SIDE || n < 1 || n > 10) {
    free(body);
    return reply_error(req, 400, "sample_upstream: a prompt, a size WxH (16-2048) and n 1-10");
  }
  char *text = marker_text(body, len, "示例图片 sample image");
  int jpeg = has(body, len, "__jpeg__"), other = has(body, len, "__otherhost__"),
      redirect = has(body, len, "__redirect__");
  const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
  char where[300];
  snprintf(where, sizeof where, "%s", host ? host : "127.0.0.1");
  if (other || redirect) { /* the same port, named by another host */
    const char *colon = strrchr(where, ':');
    char port[16];
    snprintf(port, sizeof port, "%s", colon ? colon : "");
    snprintf(where, sizeof where, "%s%s", other ? "localhost" : (host ? host : "127.0.0.1"), other ? port : "");
  }
  json_t *data = json_array();
  for (unsigned i = 0; i < n; i++) {
    size_t il;
    unsigned char *img = make_image(text, w, h, jpeg, i, &il);
    if (!img) {
      json_decref(data);
      free(text);
      free(body);
      return reply_error(req, 500, "sample_upstream: the image could not be made");
    }
    if (url) {
      const char *name = keep_file(img, il, jpeg ? "image/jpeg" : "image/png");
      char u[400];
      snprintf(u, sizeof u, "http://%s/files/%s%s", where, redirect ? "redirect/" : "", name);
      json_array_append_new(data, json_pack("{s:s, s:s}", "url", u, "revised_prompt", "一张示例图片 / a sample image"));
    } else {
      char *b = base64(img, il);
      free(img);
      json_array_append_new(
          data, json_pack("{s:s, s:s}", "b64_json", b ? b : "", "revised_prompt", "一张示例图片 / a sample image"));
      free(b);
    }
  }
  reply_json(req, 200, json_pack("{s:i, s:o}", "created", 1700000000, "data", data));
  free(text);
  free(body);
}

void sample_files(struct evhttp_request *req, const char *name) {
  if (!strncmp(name, "redirect/", 9)) { /* to the same file on another host */
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
    const char *colon = host ? strrchr(host, ':') : NULL;
    char loc[300];
    snprintf(loc, sizeof loc, "http://localhost%s/files/%s", colon ? colon : "", name + 9);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
    return reply(req, 302, "text/plain", "", 0);
  }
  for (unsigned i = 0; i < FILES; i++)
    if (files[i].data && !strcmp(files[i].name, name))
      return reply(req, 200, files[i].type, files[i].data, files[i].len);
  reply_error(req, 404, "no such file");
}

static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, unsigned v) { put16(p, v & 0xFFFF), put16(p + 2, v >> 16); }

void sample_speech(struct evhttp_request *req) {
  size_t len;
  char *body = body_of(req, &len);
  json_t *j = body ? json_loads(body, 0, NULL) : NULL;
  free(body);
  const char *input = json_string_value(json_object_get(j, "input"));
  const char *f = json_string_value(json_object_get(j, "response_format"));
  if (!input || (f && strcmp(f, "wav"))) {
    json_decref(j);
    return reply_error(req, 400, "sample_upstream speaks wav only, and needs an input");
  }
  /* one 180 ms tone and a 60 ms rest per character: a pitch from the character's code point */
  const unsigned rate = 24000, tone = rate * 18 / 100, rest = rate * 6 / 100;
  size_t chars = 0;
  for (const char *p = input; *p; p++)
    chars += ((unsigned char)*p & 0xC0) != 0x80;
  if (chars > 4096) chars = 4096;
  size_t samples = chars * (tone + rest), bytes = 44 + samples * 2;
  unsigned char *w = calloc(1, bytes);
  if (!w) {
    json_decref(j);
    return reply_error(req, 500, "out of memory");
  }
  memcpy(w, "RIFF", 4), put32(w + 4, (unsigned)(bytes - 8)), memcpy(w + 8, "WAVEfmt ", 8), put32(w + 16, 16);
  put16(w + 20, 1), put16(w + 22, 1), put32(w + 24, rate), put32(w + 28, rate * 2), put16(w + 32, 2), put16(w + 34, 16);
  memcpy(w + 36, "data", 4), put32(w + 40, (unsigned)(samples * 2));
  size_t k = 0, c = 0;
  for (const unsigned char *p = (const unsigned char *)input; *p && c < chars; p++) {
    if ((*p & 0xC0) == 0x80) continue;
    double hz = 220.0 + (double)(*p * 7 % 440);
    for (unsigned s = 0; s < tone; s++, k++) {
      double env = s < 240 ? s / 240.0 : s > tone - 240 ? (tone - s) / 240.0 : 1.0;
      put16(w + 44 + 2 * k, (unsigned)(short)(8000.0 * env * sin(2 * M_PI * hz * s / rate)) & 0xFFFF);
    }
    k += rest;
    c++;
  }
  json_decref(j);
  reply(req, 200, "audio/wav", w, bytes);
  free(w);
}

void sample_transcription(struct evhttp_request *req) {
  size_t len;
  char *body = body_of(req, &len);
  if (!body) return reply_error(req, 500, "out of memory");
  if (!has(body, len, "name=\"file\"")) {
    free(body);
    return reply_error(req, 400, "sample_upstream: a file part is needed");
  }
  char *text = marker_text(body, len, "这是示例转写。This is a sample transcript.");
  if (has(body, len, "name=\"response_format\"\r\n\r\ntext"))
    reply(req, 200, "text/plain; charset=utf-8", text, strlen(text));
  else
    reply_json(req, 200, json_pack("{s:s, s:s, s:f}", "text", text, "language", "chinese", "duration", 1.5));
  free(text);
  free(body);
}

/* media.c — images and audio through the gateway: POST /v1/images/generations, /v1/images/edits, /v1/audio/speech
 * and /v1/audio/transcriptions, with what a chat answer gets: the prompt moderated, the output moderated, both labels
 * on, one audit record.
 *
 * A media request is slow and heavy (an image takes seconds to make, OCR reads it for hundreds of milliseconds, a
 * label re-encodes it), and few: so after admission on the worker's loop (the user's standing, minors, quota, the
 * body's shape) the whole request runs on a thread of its own (offload.h) with blocking calls (fetch.h), as stages
 * with one exit:
 *   prompt      the text the model reads (prompt / input) judged in the input direction (judge.h): a block refuses
 *               the request (400 content_policy_violation, the strike ladder counts it); redactions are masked
 *   inputs      an edit's images: their text read by OCR and judged as input
 *   relay       the upstream called with the (masked) request: JSON as it came, a form built again
 *   outputs     every image fetched (a url answer: only from allowed hosts, fetch.h) or decoded, its text read by OCR
 *               and judged as output; a transcription's text judged; what no detector could judge (a picture without
 *               a vision guard, a sound) follows media.unjudged: allow, review (default) or block
 *   labels      the explicit label (drawn on images, spoken in audio, the notice in a transcription) unless the user
 *               asked for content without it where the policy allows that (labels.unlabeled_on_request, recorded),
 *               then the implicit label (hegui/filelabel.h) with ProduceID = the response id
 *   record      the audit record written before the answer leaves (a record that cannot be written withholds the
 *               answer: 503), then strikes, the review queue and the metrics
 * Nothing that was not judged and labeled leaves: an image whose format hegui cannot label is withheld (502). */
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "fetch.h"
#include "gateway.h"
#include "guard_client.h"
#include "hegui/filelabel.h"
#include "hegui/media.h"
#include "hegui/ocr.h"
#include "judge.h"
#include "multipart.h"
#include "offload.h"
#include "prompt.h"
#include "router.h"

#define MAX_IMAGES 10       /* in one answer (OpenAI's n is 1-10) */
#define MAX_INPUT_IMAGES 16 /* in one edit request */
#define MAX_RECORDED_TEXT (64u << 10)

typedef enum media_kind { IMAGE_GENERATION, IMAGE_EDIT, SPEECH, TRANSCRIPTION } media_kind;

typedef struct media_route {
  media_kind kind;
  const char *path;
  int multipart;    /* the body is multipart/form-data (else a JSON object) */
  const char *text; /* the member or part the model reads as text */
  int text_required;
} media_route;

static const media_route media_routes[] = {
    {IMAGE_GENERATION, "/v1/images/generations", 0, "prompt", 1},
    {IMAGE_EDIT, "/v1/images/edits", 1, "prompt", 1},
    {SPEECH, "/v1/audio/speech", 0, "input", 1},
    {TRANSCRIPTION, "/v1/audio/transcriptions", 1, "prompt", 0},
};

/* Audio formats of /v1/audio/speech that carry both labels, with their file format and type. OpenAI's aac (raw
 * ADTS) and pcm (no container) have no place for the implicit label: they are refused before the model is called. */
static const struct speech_format {
  const char *name, *format, *content_type;
} speech_formats[] = {
    {"mp3", "mp3", "audio/mpeg"},
    {"wav", "wav", "audio/wav"},
    {"flac", "flac", "audio/flac"},
    {"opus", "ogg", "audio/ogg"},
};

typedef struct media_job {
  gateway *gw;
  const hg_config *cfg; /* held (cfg_acquire) to the end */
  const media_route *route;
  hg_lexicon *lex;
  hg_takedown_set *takedowns;
  char id[64];
  char actor[33];
  char user[128];
  char recipient[128]; /* "" unless the answer goes out without its explicit label */
  int64_t key_id;
  /* the request */
  json_t *body;       /* JSON routes */
  unsigned char *raw; /* multipart routes: the body's bytes, which the form points into */
  size_t raw_len;
  mp_form form;
  char *text; /* the prompt or input as judged; masked where redacted */
  size_t text_len;
  const struct speech_format *speech;
  char response_format[16];
  /* the record */
  char input_sha[65], output_sha[65];
  json_t *detail, *input_hits, *input_pii, *output_hits;
  const char *verdict;
  int blocked_input, moderated;
  char *output_text; /* what was read or heard in the output (OCR, transcription), for the record */
  size_t output_len, output_cap;
} media_job;

/* ---- small helpers ---- */

static judge judge_of(media_job *j) {
  return (judge){j->cfg, j->lex, j->takedowns, j->detail, j->input_hits, j->input_pii, j->output_hits, NULL};
}

static void add_output_text(media_job *j, const char *s, size_t n) {
  if (j->output_len + n + 2 > MAX_RECORDED_TEXT) return;
  if (j->output_len + n + 2 > j->output_cap) {
    size_t cap = (j->output_len + n + 2) * 2;
    char *b = realloc(j->output_text, cap);
    if (!b) return;
    j->output_text = b;
    j->output_cap = cap;
  }
  if (j->output_len) j->output_text[j->output_len++] = '\n';
  memcpy(j->output_text + j->output_len, s, n);
  j->output_len += n;
  j->output_text[j->output_len] = '\0';
}

static void make_id(media_job *j) {
  unsigned char r[12];
  char hex[25];
  randombytes_buf(r, sizeof r);
  sodium_bin2hex(hex, sizeof hex, r, sizeof r);
  snprintf(j->id, sizeof j->id, "%s-hg%s",
           j->route->kind == IMAGE_GENERATION || j->route->kind == IMAGE_EDIT ? "img"
           : j->route->kind == SPEECH                                         ? "speech"
                                                                              : "transcript",
           hex);
}

static int unjudged(media_job *j, const char *what) {
  judge jd = judge_of(j);
  atomic_fetch_add(&j->gw->metrics.unjudged, 1);
  return judge_unjudged(&jd, what);
}

/* ---- OCR: one engine for the gateway, made at its first use ---- */

hg_ocr *gateway_ocr(gateway *gw, const hg_config *cfg, char *why, size_t cap) {
  pthread_mutex_lock(&gw->ocr_lock);
  if (!gw->ocr && !gw->ocr_error[0]) {
    hg_ocr_options o = {0};
    o.languages = cfg->media_ocr_languages;
    o.tessdata_dir = cfg->media_tessdata[0] ? cfg->media_tessdata : NULL;
    o.deadline_ms = cfg->media_ocr_timeout_ms;
    o.max_bytes = cfg->media_max_bytes;
    hg_error err;
    hg_error_clear(&err);
    if (hg_ocr_new(&o, &gw->ocr, &err)) {
      snprintf(gw->ocr_error, sizeof gw->ocr_error, "%.199s", err.message);
      hg_log_write(&gw->log, HG_LOG_ERROR, "OCR engine not made: %s (text in images cannot be read)", err.message);
    }
  }
  hg_ocr *o = gw->ocr;
  if (!o) snprintf(why, cap, "%s", gw->ocr_error);
  pthread_mutex_unlock(&gw->ocr_lock);
  return o;
}

void media_close(gateway *gw) {
  hg_ocr_free(gw->ocr);
  gw->ocr = NULL;
  pthread_mutex_destroy(&gw->ocr_lock);
}

/* The text in an image judged in a direction (judge_ocr_text). 1 when it blocks. what names it in the record
 * ("image 1", "input image 2"); text read in the output is kept for the record. */
static int judge_image_text(media_job *j, hg_direction dir, const uint8_t *img, size_t len, const char *what) {
  if (!j->cfg->media_ocr) return unjudged(j, "text in images (media.ocr is off)");
  char why[200] = "";
  hg_ocr_result r;
  hg_error err;
  hg_error_clear(&err);
  hg_ocr *engine = gateway_ocr(j->gw, j->cfg, why, sizeof why);
  judge jd = judge_of(j);
  if (!engine || hg_ocr_read(engine, img, len, &r, &err)) {
    metrics_ocr(&j->gw->metrics, NULL);
    atomic_fetch_add(&j->gw->metrics.unjudged, 1);
    return judge_ocr_text(&jd, dir, what, NULL, engine ? err.message : why);
  }
  metrics_ocr(&j->gw->metrics, &r);
  if (r.timed_out) atomic_fetch_add(&j->gw->metrics.unjudged, 1);
  if (dir == HG_DIR_OUTPUT) add_output_text(j, r.text, r.len);
  int blocked = judge_ocr_text(&jd, dir, what, &r, NULL);
  hg_ocr_result_free(&r);
  return blocked;
}

static char *base64(const uint8_t *b, size_t n);

/* The picture itself: judged by the vision guard when one is configured for this direction (guard.images), with
 * the prompt that asked for it; else it is unjudged (media.unjudged). 1 when it blocks. */
static int judge_picture(media_job *j, hg_direction dir, const uint8_t *img, size_t len, const char *format,
                         const char *what) {
  char msg[120];
  if (!j->cfg->guard.images || !guard_wanted(j->cfg, dir)) {
    snprintf(msg, sizeof msg, "the picture of %s (no vision guard)", what);
    return unjudged(j, msg);
  }
  char *b64 = base64(img, len);
  size_t ul = b64 ? strlen(b64) + 40 : 0;
  char *url = b64 ? malloc(ul) : NULL;
  guard_outcome o;
  if (!url) {
    memset(&o, 0, sizeof o);
    o.failed = 1;
    snprintf(o.error, sizeof o.error, "out of memory");
  } else {
    snprintf(url, ul, "data:image/%s;base64,%s", format, b64);
    const char *urls[1] = {url};
    guard_judge_wait(j->gw, j->cfg, dir, j->text ? j->text : "", j->text_len, NULL, 0, urls, 1, &o);
  }
  free(b64);
  free(url);
  judge jd = judge_of(j);
  return judge_guard(&jd, dir, &o) == HG_DECIDE_BLOCK;
}

/* ---- the stages ---- */

/* The prompt: judged as input; a block refuses, redactions are masked ('*' per character). 1 when it blocks. */
static int stage_prompt(media_job *j) {
  if (!j->text_len) return 0;
  judge jd = judge_of(j);
  span_hit *spans;
  size_t n;
  hg_decision d = judge_text(&jd, HG_DIR_INPUT, j->text, j->text_len, &spans, &n, NULL, NULL);
  if (d == HG_DECIDE_BLOCK) {
    free(spans);
    return 1;
  }
  if (guard_wanted(j->cfg, HG_DIR_INPUT)) { /* the guard model reads the prompt as a chat prompt's */
    guard_outcome o;
    guard_judge_wait(j->gw, j->cfg, HG_DIR_INPUT, j->text, j->text_len, NULL, 0, NULL, 0, &o);
    if (judge_guard(&jd, HG_DIR_INPUT, &o) == HG_DECIDE_BLOCK) {
      free(spans);
      return 1;
    }
  }
  if (n) { /* masked in place: each character of a span becomes one '*' */
    char *out = malloc(j->text_len + 1);
    size_t w = 0, pos = 0;
    if (!out) {
      free(spans);
      return 1;
    }
    for (size_t i = 0; i < n; i++) {
      memcpy(out + w, j->text + pos, spans[i].start - pos);
      w += spans[i].start - pos;
      for (size_t k = spans[i].start; k < spans[i].end; k++)
        if (((unsigned char)j->text[k] & 0xC0) != 0x80) out[w++] = '*';
      pos = spans[i].end;
    }
    memcpy(out + w, j->text + pos, j->text_len - pos);
    w += j->text_len - pos;
    out[w] = '\0';
    free(j->text);
    j->text = out;
    j->text_len = w;
    j->verdict = "redact";
  }
  free(spans);
  return 0;
}

static int image_part(const mp_part *p) { return !strcmp(p->name, "image") || !strcmp(p->name, "image[]"); }

/* An edit's images: their text judged as input. 1 when one blocks. */
static int stage_inputs(media_job *j) {
  int k = 0;
  for (size_t i = 0; i < j->form.count; i++) {
    const mp_part *p = &j->form.parts[i];
    if (!image_part(p) && strcmp(p->name, "mask")) continue;
    char what[40];
    snprintf(what, sizeof what, "input %s %d", p->name[0] == 'm' ? "mask" : "image", ++k);
    const char *format = hg_label_format_detect(p->data, p->len, NULL);
    if (judge_image_text(j, HG_DIR_INPUT, p->data, p->len, what) ||
        judge_picture(j, HG_DIR_INPUT, p->data, p->len, format ? format : "png", what))
      return 1;
  }
  return 0;
}

/* The request as it leaves for the model: the masked text in place of the client's. */
static int relay(media_job *j, fetch_result *up, reply *out) {
  char *body = NULL;
  size_t len = 0;
  char type[160] = "application/json";
  unsigned char *form_body = NULL;
  if (!j->route->multipart) {
    if (j->text) json_object_set_new(j->body, j->route->text, json_stringn(j->text, j->text_len));
    body = hg_json_dumps(j->body, JSON_COMPACT);
    len = body ? strlen(body) : 0;
  } else {
    mp_part parts[MULTIPART_MAX_PARTS];
    memcpy(parts, j->form.parts, j->form.count * sizeof parts[0]);
    for (size_t i = 0; i < j->form.count; i++)
      if (j->text && !strcmp(parts[i].name, j->route->text)) {
        parts[i].data = (const unsigned char *)j->text;
        parts[i].len = j->text_len;
      }
    char boundary[MULTIPART_BOUNDARY_MAX + 1];
    if (!multipart_build(parts, j->form.count, boundary, &form_body, &len)) {
      body = (char *)form_body;
      snprintf(type, sizeof type, "multipart/form-data; boundary=%s", boundary);
    }
  }
  if (!body) {
    reply_error(out, 500, "server_error", "out of memory", NULL);
    j->verdict = "error";
    return -1;
  }
  /* an answer of images in base64 is 4/3 of their bytes; a few of them, and the JSON around */
  size_t cap = j->cfg->media_max_bytes * (j->route->kind == SPEECH ? 1 : 4) + (1u << 20);
  int r = fetch_upstream(j->cfg, j->route->path, type, body, len, cap, &j->gw->stopping, up);
  free(body);
  json_object_set_new(j->detail, "upstream_status", json_integer(up->status));
  if (r) {
    json_object_set_new(j->detail, "upstream_error", json_string(up->error));
    char msg[400];
    snprintf(msg, sizeof msg, "the upstream could not be reached: %s", up->error);
    reply_error(out, 502, "upstream_error", msg, NULL);
    j->verdict = "error";
    return -1;
  }
  if (up->status < 200 || up->status > 299) {
    /* the upstream's own error, when it is one (JSON): passed on with its status; anything else is a 502 */
    json_t *e = hg_json_loadb((const char *)up->body, up->len, 0, NULL);
    if (json_is_object(e) && json_is_object(json_object_get(e, "error")) && up->status >= 400 && up->status < 600) {
      json_t *only = json_pack("{s:O}", "error", json_object_get(e, "error"));
      reply_json(out, (int)up->status, only);
    } else {
      char msg[200];
      snprintf(msg, sizeof msg, "the upstream answered HTTP %ld", up->status);
      reply_error(out, 502, "upstream_error", msg, NULL);
    }
    json_decref(e);
    return -1;
  }
  return 0;
}

/* The explicit label (unless the user asked for the content without it, which the policy allowed and the record
 * keeps), then the implicit one. *out is the labelled file. */
static int label_file(media_job *j, const char *format, const uint8_t *in, size_t len, uint8_t **out, size_t *out_len,
                      char *why, size_t cap) {
  hg_error err;
  hg_error_clear(&err);
  uint8_t *shown = NULL;
  size_t shown_len = 0;
  if (!j->recipient[0]) {
    hg_explicit_options o;
    memset(&o, 0, sizeof o);
    o.visible.text = j->cfg->label_image_text;
    o.visible.height_ratio = j->cfg->label_image_height;
    o.visible.place = (hg_label_place)j->cfg->label_image_place;
    o.spoken_text = j->cfg->label_audio_text;
    o.spoken_kind = j->cfg->label_audio_rhythm ? HG_SPOKEN_RHYTHM : HG_SPOKEN_SPEECH;
    o.spoken_at_end = j->cfg->label_audio_at_end;
    if (hg_explicit_label_buffer(format, in, len, &o, &shown, &shown_len, &err)) {
      snprintf(why, cap, "explicit label: %s", err.message);
      return -1;
    }
  }
  hg_label_add_options a = {0};
  a.producer = j->cfg->content_producer;
  a.produce_id = j->id;
  hg_status st =
      hg_label_buffer_add(format, shown ? shown : in, shown ? shown_len : len, &a, j->gw->label_sk, out, out_len, &err);
  free(shown);
  if (st) {
    snprintf(why, cap, "implicit label: %s", err.message);
    return -1;
  }
  atomic_fetch_add(&j->gw->metrics.media_labels[j->recipient[0] ? 1 : 0], 1);
  return 0;
}

/* The bytes of one image of the answer: decoded from b64_json or fetched from its url (fetch.h's rules). */
static int image_bytes(media_job *j, json_t *item, uint8_t **bytes, size_t *len, char *why, size_t cap) {
  const char *b64 = json_string_value(json_object_get(item, "b64_json"));
  const char *url = json_string_value(json_object_get(item, "url"));
  if (b64) {
    size_t n = strlen(b64), max = n / 4 * 3 + 3;
    if (max > j->cfg->media_max_bytes + 3) return snprintf(why, cap, "an image longer than media.max_bytes"), -1;
    *bytes = malloc(max ? max : 1);
    if (!*bytes) return snprintf(why, cap, "out of memory"), -1;
    if (sodium_base642bin(*bytes, max, b64, n, " \r\n", len, NULL, sodium_base64_VARIANT_ORIGINAL)) {
      free(*bytes);
      *bytes = NULL;
      return snprintf(why, cap, "b64_json is not base64"), -1;
    }
    return 0;
  }
  if (url && !strncasecmp(url, "data:", 5)) return snprintf(why, cap, "a url that is a data: URL"), -1;
  if (url) {
    json_object_set_new(j->detail, "fetched", json_true());
    if (fetch_image_url(j->cfg, url, &j->gw->stopping, bytes, len, why, cap)) return -1;
    return 0;
  }
  return snprintf(why, cap, "an image with neither b64_json nor url"), -1;
}

static char *base64(const uint8_t *b, size_t n) {
  size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
  char *s = malloc(cap);
  if (s) sodium_bin2base64(s, cap, b, n, sodium_base64_VARIANT_ORIGINAL);
  return s;
}

/* The output digest over every file or text handed out, in order. */
static void output_digest(media_job *j, crypto_hash_sha256_state *st) {
  unsigned char h[32];
  crypto_hash_sha256_final(st, h);
  sodium_bin2hex(j->output_sha, sizeof j->output_sha, h, sizeof h);
}

static int refuse_output(media_job *j, reply *out, const char *what) {
  j->verdict = "block";
  char msg[sizeof j->cfg->refusal + 200];
  snprintf(msg, sizeof msg, "%s（%s）", j->cfg->refusal, what);
  reply_error(out, 400, "invalid_request_error", msg, "content_policy_violation");
  return -1;
}

static void answer_images(media_job *j, fetch_result *up, reply *out) {
  json_t *a = hg_json_loadb((const char *)up->body, up->len, 0, NULL);
  json_t *data = json_object_get(a, "data");
  size_t n = json_array_size(data);
  if (!json_is_array(data) || n == 0 || n > MAX_IMAGES) {
    json_decref(a);
    j->verdict = "error";
    reply_error(out, 502, "upstream_error", "the upstream's answer is not a list of 1-10 images", NULL);
    return;
  }
  json_t *items = json_array(), *images = json_array();
  json_object_set_new(j->detail, "images", images);
  crypto_hash_sha256_state hs;
  crypto_hash_sha256_init(&hs);
  for (size_t i = 0; i < n; i++) {
    json_t *item = json_array_get(data, i);
    char what[32], why[400];
    snprintf(what, sizeof what, "image %zu", i + 1);
    uint8_t *bytes = NULL, *labelled = NULL;
    size_t len = 0, llen = 0;
    if (image_bytes(j, item, &bytes, &len, why, sizeof why)) {
      char msg[460];
      snprintf(msg, sizeof msg, "%s of the answer was withheld: %s", what, why);
      j->verdict = "error";
      json_object_set_new(j->detail, "output_error", json_string(msg));
      reply_error(out, 502, "upstream_error", msg, NULL);
      goto done;
    }
    const char *format = hg_label_format_detect(bytes, len, NULL);
    if (!format || (strcmp(format, "png") && strcmp(format, "jpeg") && strcmp(format, "webp"))) {
      free(bytes);
      j->verdict = "error";
      reply_error(out, 502, "upstream_error",
                  "an image of the answer is not a PNG, JPEG or WebP file, which hegui labels: it was withheld", NULL);
      goto done;
    }
    /* the picture itself: judged only by a vision guard; text in it by OCR */
    int blocked = judge_image_text(j, HG_DIR_OUTPUT, bytes, len, what);
    const char *revised = json_string_value(json_object_get(item, "revised_prompt"));
    if (!blocked && revised) {
      judge jd = judge_of(j);
      span_hit *spans;
      size_t ns;
      blocked = judge_text(&jd, HG_DIR_OUTPUT, revised, strlen(revised), &spans, &ns, NULL, NULL) == HG_DECIDE_BLOCK;
      free(spans);
    }
    if (!blocked) blocked = judge_picture(j, HG_DIR_OUTPUT, bytes, len, format, what);
    if (blocked) {
      free(bytes);
      refuse_output(j, out, "生成的图片未通过审核 / the generated image was withheld");
      goto done;
    }
    if (label_file(j, format, bytes, len, &labelled, &llen, why, sizeof why)) {
      free(bytes);
      j->verdict = "error";
      json_object_set_new(j->detail, "output_error", json_string(why));
      reply_error(out, 500, "server_error", "the image could not be labelled, so it was withheld", NULL);
      goto done;
    }
    free(bytes);
    char sha[65];
    sha256_hex(labelled, llen, sha);
    crypto_hash_sha256_update(&hs, labelled, llen);
    json_array_append_new(images, json_pack("{s:s, s:s, s:I, s:b}", "format", format, "sha256", sha, "bytes",
                                            (json_int_t)llen, "explicit_label", !j->recipient[0]));
    char *b64 = base64(labelled, llen);
    free(labelled);
    if (!b64) {
      reply_error(out, 500, "server_error", "out of memory", NULL);
      j->verdict = "error";
      goto done;
    }
    json_t *o = json_pack("{s:s}", "b64_json", b64);
    free(b64);
    if (revised) json_object_set_new(o, "revised_prompt", json_string(revised));
    json_array_append_new(items, o);
  }
  output_digest(j, &hs);
  {
    json_t *created = json_object_get(a, "created");
    json_t *res =
        json_pack("{s:s, s:I, s:O}", "id", j->id, "created",
                  json_is_integer(created) ? json_integer_value(created) : (json_int_t)(hg_clock_wall_ms() / 1000),
                  "data", items);
    json_t *usage = json_object_get(a, "usage");
    if (json_is_object(usage)) json_object_set(res, "usage", usage);
    reply_json(out, 200, res);
  }
done:
  json_decref(items);
  json_decref(a);
}

static void answer_speech(media_job *j, fetch_result *up, reply *out) {
  const char *format = hg_label_format_detect(up->body, up->len, NULL);
  if (!format || strcmp(format, j->speech->format)) {
    j->verdict = "error";
    char msg[200];
    snprintf(msg, sizeof msg, "the upstream's audio is not the %s file that was asked for: it was withheld",
             j->speech->name);
    reply_error(out, 502, "upstream_error", msg, NULL);
    return;
  }
  if (unjudged(j, "the sound (its text was judged as the input)")) {
    refuse_output(j, out, "生成的音频未经审核 / the audio could not be judged and was withheld");
    return;
  }
  uint8_t *labelled;
  size_t llen;
  char why[400];
  if (label_file(j, format, up->body, up->len, &labelled, &llen, why, sizeof why)) {
    j->verdict = "error";
    json_object_set_new(j->detail, "output_error", json_string(why));
    reply_error(out, 500, "server_error", "the audio could not be labelled, so it was withheld", NULL);
    return;
  }
  sha256_hex(labelled, llen, j->output_sha);
  json_object_set_new(j->detail, "audio",
                      json_pack("{s:s, s:s, s:I, s:b}", "format", format, "sha256", j->output_sha, "bytes",
                                (json_int_t)llen, "explicit_label", !j->recipient[0]));
  reply_bytes(out, 200, j->speech->content_type, labelled, llen);
}

/* The notice joined to the transcript as labels.position says. */
static char *with_notice(media_job *j, const char *text, size_t len, size_t *out_len) {
  const char *n = j->recipient[0] ? "" : j->cfg->label_notice;
  size_t nl = strlen(n);
  char *s = malloc(len + nl + 2);
  if (!s) return NULL;
  if (!nl) {
    memcpy(s, text, len);
    *out_len = len;
  } else if (j->cfg->label_at_end) {
    memcpy(s, text, len);
    s[len] = '\n';
    memcpy(s + len + 1, n, nl);
    *out_len = len + 1 + nl;
  } else {
    memcpy(s, n, nl);
    s[nl] = '\n';
    memcpy(s + nl + 1, text, len);
    *out_len = len + 1 + nl;
  }
  s[*out_len] = '\0';
  return s;
}

static void answer_transcription(media_job *j, fetch_result *up, reply *out) {
  int json = strcmp(j->response_format, "text") != 0;
  json_t *a = NULL;
  const char *text;
  size_t len;
  if (json) {
    a = hg_json_loadb((const char *)up->body, up->len, 0, NULL);
    json_t *t = json_object_get(a, "text");
    if (!json_is_string(t)) {
      json_decref(a);
      j->verdict = "error";
      reply_error(out, 502, "upstream_error", "the upstream's answer has no text", NULL);
      return;
    }
    text = json_string_value(t);
    len = json_string_length(t);
  } else {
    size_t bad;
    if (hg_utf8_validate((const char *)up->body, up->len, &bad)) {
      j->verdict = "error";
      reply_error(out, 502, "upstream_error", "the upstream's transcript is not UTF-8", NULL);
      return;
    }
    text = (const char *)up->body;
    len = up->len;
  }
  add_output_text(j, text, len);
  judge jd = judge_of(j);
  span_hit *spans;
  size_t ns;
  hg_decision d = judge_text(&jd, HG_DIR_OUTPUT, text, len, &spans, &ns, NULL, NULL);
  free(spans);
  const char *shown = text;
  size_t shown_len = len;
  if (d == HG_DECIDE_BLOCK) { /* the refusal (代答) in place of the transcript, as a chat answer gets */
    j->verdict = "block";
    shown = j->cfg->refusal;
    shown_len = strlen(shown);
  }
  size_t vl;
  char *visible = with_notice(j, shown, shown_len, &vl);
  char *label = NULL;
  hg_error err;
  if (!visible || hg_label_make(j->cfg->content_producer, j->id, visible, vl, j->gw->label_sk, &label, &err)) {
    free(visible);
    json_decref(a);
    j->verdict = "error";
    reply_error(out, 500, "server_error", "the transcript could not be labelled, so it was withheld", NULL);
    return;
  }
  sha256_hex(visible, vl, j->output_sha);
  reply_header(out, "X-AIGC-Label", label);
  if (json) {
    json_t *res = json_pack("{s:s%}", "text", visible, vl);
    json_t *lj = hg_json_loadb(label, strlen(label), 0, NULL);
    json_object_set_new(res, "aigc", lj ? lj : json_null());
    /* verbose_json's timing members carry no text of the model's choosing, except the segments' and words': those
     * are dropped when the text was refused, since they would repeat it */
    json_t *language = json_object_get(a, "language"), *duration = json_object_get(a, "duration"),
           *usage = json_object_get(a, "usage");
    if (json_is_string(language) && json_string_length(language) < 32) json_object_set(res, "language", language);
    if (json_is_number(duration)) json_object_set(res, "duration", duration);
    if (json_is_object(usage)) json_object_set(res, "usage", usage);
    if (d != HG_DECIDE_BLOCK && json_is_array(json_object_get(a, "segments")))
      json_object_set(res, "segments", json_object_get(a, "segments"));
    reply_json(out, 200, res);
  } else {
    reply_bytes(out, 200, "text/plain; charset=utf-8", (uint8_t *)visible, vl);
    visible = NULL;
  }
  free(visible);
  free(label);
  json_decref(a);
}

/* The record, before the answer leaves: a record that cannot be written withholds it. Then strikes, the review
 * queue, the metrics. */
static void stage_record(media_job *j, reply *out) {
  gateway *gw = j->gw;
  /* review raises an allow; a redaction stays a redaction */
  if (!strcmp(j->verdict, "allow") && json_is_true(json_object_get(j->detail, "review"))) j->verdict = "review";
  json_object_set_new(j->detail, "response_id", json_string(j->id));
  json_object_set_new(j->detail, "route_kind", json_string(j->route->path + 4));
  const char *model = j->body ? json_string_value(json_object_get(j->body, "model")) : NULL;
  if (!model && j->route->multipart) {
    const mp_part *m = multipart_get(&j->form, "model");
    if (m) json_object_set_new(j->detail, "model", json_stringn((const char *)m->data, m->len < 128 ? m->len : 128));
  } else if (model) {
    json_object_set_new(j->detail, "model", json_string(model));
  }
  char *detail = hg_json_dumps(j->detail, JSON_COMPACT | JSON_SORT_KEYS);
  char *text = NULL;
  if (j->cfg->retain_text != HG_RETAIN_NONE) {
    /* redacted: personal data found in either text is masked in the record; full: as judged */
    char *in = j->text ? strndup(j->text, utf8_prefix_len(j->text, j->text_len, MAX_RECORDED_TEXT)) : strdup("");
    char *outt = j->output_text ? strdup(j->output_text) : strdup("");
    if (j->cfg->retain_text == HG_RETAIN_REDACTED) {
      hg_pii_options detect;
      hg_pii_options_init(&detect);
      detect.types = j->cfg->pii_types;
      hg_redact_options ro;
      hg_redact_options_init(&ro);
      char *t[2] = {in, outt};
      for (int k = 0; k < 2; k++) {
        char *r;
        size_t rl, count;
        if (t[k] && !hg_pii_redact(&detect, &ro, NULL, t[k], strlen(t[k]), &r, &rl, &count, NULL)) {
          free(t[k]);
          t[k] = r;
        } else if (t[k]) { /* what could not be redacted is not kept */
          free(t[k]);
          t[k] = strdup("");
        }
      }
      in = t[0], outt = t[1];
    }
    json_t *tj = json_pack("{s:s, s:s}", "input", in ? in : "", "output", outt ? outt : "");
    text = tj ? hg_json_dumps(tj, JSON_COMPACT) : NULL;
    json_decref(tj);
    free(in);
    free(outt);
  }
  hg_audit_record r = {0};
  r.actor = j->actor;
  r.route = j->route->path;
  r.verdict = j->verdict;
  r.detail_json = detail;
  r.input_sha256 = j->input_sha;
  r.output_sha256 = j->output_sha[0] ? j->output_sha : NULL;
  r.text = text;
  hg_error err;
  strike_outcome strike;
  if (record_commit(gw->store, j->cfg, &r, j->user, j->moderated && gw->cfg.auth_required, j->blocked_input,
                    hg_clock_wall_ms(), &strike, &err)) {
    hg_log_write(&gw->log, HG_LOG_ERROR, "audit record not written: %s", err.message);
    reply_error(out, 503, "server_error", "the answer's record could not be written; it was not sent", NULL);
  } else {
    strike_followup(gw, j->user, &strike, r.seq);
  }
  free(detail);
  free(text);
  review_enqueue(gw, j->cfg, j->id, j->actor, j->route->path, j->verdict, j->detail, out->status == 200);
  metrics_verdict(&gw->metrics, j->verdict, json_string_value(json_object_get(j->detail, "block_category")));
  if (out->status == 200) reply_header(out, "X-Hegui-Produce-Id", j->id);
  out->verdict = j->verdict;
}

/* The request's one exit: every stage above, then its record. */
static void media_work(void *arg, reply *out) {
  media_job *j = arg;
  fetch_result up = {0};
  if (stage_prompt(j) || (j->route->kind == IMAGE_EDIT && stage_inputs(j))) {
    j->blocked_input = !json_object_get(j->detail, "input_error");
    j->verdict = "block";
    char msg[sizeof j->cfg->refusal + 200];
    snprintf(msg, sizeof msg, "%s\n（提示：多次输入违规内容将导致账号被暂停使用。）", j->cfg->refusal);
    reply_error(out, 400, "invalid_request_error", msg, "content_policy_violation");
  } else if (!relay(j, &up, out)) {
    switch (j->route->kind) {
    case IMAGE_GENERATION:
    case IMAGE_EDIT: answer_images(j, &up, out); break;
    case SPEECH: answer_speech(j, &up, out); break;
    case TRANSCRIPTION: answer_transcription(j, &up, out); break;
    }
  }
  fetch_result_free(&up);
  stage_record(j, out);
}

static void media_job_free(void *arg) {
  media_job *j = arg;
  atomic_fetch_sub(&j->gw->media_jobs, 1);
  json_decref(j->body);
  free(j->raw);
  free(j->text);
  free(j->output_text);
  json_decref(j->detail);
  if (j->takedowns) hg_takedown_set_unref(j->takedowns);
  hg_lexicon_unref(j->lex);
  cfg_release(j->cfg);
  free(j);
}

/* ---- on the loop: admission and the body's shape ---- */

static int bad_request(route_req *rq, const char *msg, const char *param) {
  send_error_param(rq->req, 400, "invalid_request_error", msg, param, NULL);
  return 400;
}

static int utf8_text(const char *s, size_t n) {
  size_t bad;
  return !hg_utf8_validate(s, n, &bad) && !memchr(s, '\0', n);
}

/* A JSON body: its text member, and for speech the format. 0 or the status sent. */
static int parse_json(route_req *rq, media_job *j, const char *raw, size_t len) {
  json_error_t je;
  j->body = hg_json_loadb(raw ? raw : "", len, 0, &je);
  if (!json_is_object(j->body)) return bad_request(rq, "the request body is not a JSON object", NULL);
  json_t *t = json_object_get(j->body, j->route->text);
  if (!json_is_string(t)) {
    char msg[120];
    snprintf(msg, sizeof msg, "'%s' is required and must be a string", j->route->text);
    return bad_request(rq, msg, j->route->text);
  }
  j->text = strndup(json_string_value(t), json_string_length(t));
  j->text_len = json_string_length(t);
  if (j->route->kind == SPEECH) {
    if (!json_is_string(json_object_get(j->body, "model")))
      return bad_request(rq, "you must provide a model parameter", "model");
    json_t *f = json_object_get(j->body, "response_format");
    const char *name = f ? json_string_value(f) : "mp3";
    for (size_t i = 0; name && i < sizeof speech_formats / sizeof speech_formats[0]; i++)
      if (!strcmp(name, speech_formats[i].name)) j->speech = &speech_formats[i];
    if (!j->speech)
      return bad_request(rq,
                         "response_format must be mp3, wav, flac or opus: hegui labels generated audio in its file "
                         "(aac and pcm have no place for the implicit label)",
                         "response_format");
  } else {
    json_t *n = json_object_get(j->body, "n");
    if (n && (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > MAX_IMAGES))
      return bad_request(rq, "n must be a whole number from 1 to 10", "n");
    json_t *f = json_object_get(j->body, "response_format");
    if (f && (!json_is_string(f) || (strcmp(json_string_value(f), "url") && strcmp(json_string_value(f), "b64_json"))))
      return bad_request(rq, "response_format must be url or b64_json (hegui answers with b64_json either way)",
                         "response_format");
  }
  return 0;
}

/* A form body: the parts each route needs, the text part. 0 or the status sent. */
static int parse_form(route_req *rq, media_job *j) {
  char boundary[MULTIPART_BOUNDARY_MAX + 1], why[200];
  const char *ct = evhttp_find_header(evhttp_request_get_input_headers(rq->req), "Content-Type");
  if (multipart_boundary(ct, boundary))
    return bad_request(rq, "this route takes multipart/form-data with a boundary (Content-Type)", NULL);
  if (multipart_parse(boundary, j->raw, j->raw_len, &j->form, why, sizeof why)) return bad_request(rq, why, NULL);
  const mp_part *t = multipart_get(&j->form, j->route->text);
  if (t) {
    if (!utf8_text((const char *)t->data, t->len)) return bad_request(rq, "the text part is not UTF-8", j->route->text);
    j->text = strndup((const char *)t->data, t->len);
    j->text_len = t->len;
  } else if (j->route->text_required) {
    char msg[80];
    snprintf(msg, sizeof msg, "'%s' is required", j->route->text);
    return bad_request(rq, msg, j->route->text);
  }
  if (!multipart_get(&j->form, "model") && j->route->kind == TRANSCRIPTION)
    return bad_request(rq, "you must provide a model parameter", "model");
  size_t images = 0;
  for (size_t i = 0; i < j->form.count; i++) {
    const mp_part *p = &j->form.parts[i];
    if (p->len > j->cfg->media_max_bytes) return bad_request(rq, "a file is longer than media.max_bytes", p->name);
    images += image_part(p);
  }
  if (j->route->kind == IMAGE_EDIT && (images == 0 || images > MAX_INPUT_IMAGES))
    return bad_request(rq, "an edit takes 1-16 images (image or image[])", "image");
  if (j->route->kind == TRANSCRIPTION) {
    if (!multipart_get(&j->form, "file")) return bad_request(rq, "'file' is required", "file");
    const mp_part *f = multipart_get(&j->form, "response_format");
    snprintf(j->response_format, sizeof j->response_format, "%.*s", f ? (int)(f->len < 15 ? f->len : 15) : 4,
             f ? (const char *)f->data : "json");
    if (strcmp(j->response_format, "json") && strcmp(j->response_format, "text") &&
        strcmp(j->response_format, "verbose_json"))
      return bad_request(rq,
                         "response_format must be json, text or verbose_json (srt and vtt cannot carry the label "
                         "notice as a cue yet)",
                         "response_format");
  }
  return 0;
}

static void media_start(route_req *rq, const media_route *route) {
  gateway *gw = rq->gw;
  media_job *j = calloc(1, sizeof *j);
  int status = 0;
  if (!j) send_error(rq->req, 500, "server_error", "out of memory", NULL), status = 500;
  admission adm = {0};
  if (!status) status = admit_request_http(gw, rq->req, &rq->key, &adm);
  if (!status) {
    j->gw = gw;
    j->route = route;
    j->cfg = cfg_acquire(gw);
    status = unlabeled_request(rq, j->recipient);
  }
  if (!status) {
    struct evbuffer *buf = evhttp_request_get_input_buffer(rq->req);
    j->raw_len = evbuffer_get_length(buf);
    j->raw = malloc(j->raw_len + 1);
    if (!j->raw)
      status = 500, send_error(rq->req, 500, "server_error", "out of memory", NULL);
    else {
      evbuffer_copyout(buf, j->raw, j->raw_len);
      j->raw[j->raw_len] = 0;
      sha256_hex(j->raw, j->raw_len, j->input_sha);
      status = route->multipart ? parse_form(rq, j) : parse_json(rq, j, (const char *)j->raw, j->raw_len);
      if (!route->multipart) free(j->raw), j->raw = NULL;
    }
  }
  if (!status && j->text && !utf8_text(j->text, j->text_len))
    status = bad_request(rq, "the text is not UTF-8", route->text);
  if (!status && atomic_fetch_add(&gw->media_jobs, 1) >= (int)gw->cfg.media_max_concurrent) {
    atomic_fetch_sub(&gw->media_jobs, 1);
    evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Retry-After", "1");
    send_error(rq->req, 429, "rate_limit_exceeded",
               "too many image and audio requests in progress (media.max_concurrent); try again shortly", NULL);
    status = 429;
  }
  if (!status && admit_count_http(gw, rq->req, &rq->key, &adm)) {
    atomic_fetch_sub(&gw->media_jobs, 1);
    status = 503;
  }
  if (status) {
    if (j) {
      json_decref(j->body);
      free(j->raw);
      free(j->text);
      cfg_release(j->cfg);
      free(j);
    }
    route_metrics(gw, rq->metric, status, rq->t0);
    return;
  }
  j->lex = hg_lexicon_slot_acquire(gw->lexicon);
  j->takedowns = acquire_takedowns(gw);
  pseudonym(gw, rq->key.user, j->actor);
  snprintf(j->user, sizeof j->user, "%s", rq->key.user);
  j->key_id = rq->key.key_id;
  j->moderated = 1;
  j->verdict = "allow";
  make_id(j);
  j->detail = json_object();
  json_object_set_new(j->detail, "input_hits", j->input_hits = json_array());
  json_object_set_new(j->detail, "input_pii", j->input_pii = json_array());
  json_object_set_new(j->detail, "output_hits", j->output_hits = json_array());
  json_object_set_new(j->detail, "output_pii", json_array());
  json_object_set_new(j->detail, "profile", json_string(hg_profile_name(j->cfg->profile)));
  if (adm.minor) json_object_set_new(j->detail, "minor", json_true());
  if (j->recipient[0]) {
    json_object_set_new(j->detail, "explicit_label", json_string("omitted"));
    json_object_set_new(j->detail, "recipient", json_string(j->recipient));
    evhttp_add_header(evhttp_request_get_output_headers(rq->req), "X-Hegui-Explicit-Label", "omitted");
  }
  if (offload(rq->w, rq->req, rq->metric, rq->t0, media_work, j, media_job_free)) {
    media_job_free(j);
    send_error(rq->req, 503, "server_error", "the request could not be started; try again", NULL);
    route_metrics(gw, rq->metric, 503, rq->t0);
  }
}

void route_images_generations(route_req *rq) { media_start(rq, &media_routes[0]); }
void route_images_edits(route_req *rq) { media_start(rq, &media_routes[1]); }
void route_audio_speech(route_req *rq) { media_start(rq, &media_routes[2]); }
void route_audio_transcriptions(route_req *rq) { media_start(rq, &media_routes[3]); }

/* spoken.c — the spoken label of GB 45438 (section 4.3: said at the start or the end of the audio, at 120-160
 * characters a minute, or the rhythm short-long-short-short instead), made offline by espeak-ng.
 *
 * Debian's espeak-ng knows few Chinese characters by heart: its "cmn" voice reads the others as pinyin with tone
 * digits in English ("ben three"). So the text is turned into toned pinyin here, from the Unihan readings hegui's
 * tables already carry (hg_pinyin, hg_pinyin_tone), and said by the voice that reads pinyin ("cmn-latn-pinyin"):
 * 本内容由人工智能生成 -> "ben3 nei4 rong2 you2 ren2 gong1 zhi4 neng2 sheng1 cheng2". Punctuation is a pause; Latin
 * letters and digits are passed as they are; anything else is dropped.
 *
 * The rate: espeak-ng's is in words a minute and its Mandarin syllables vary, so the label is made at 140
 * characters a minute as espeak-ng counts, its speech measured (from the first to the last sample above the
 * silence level), and made again at a corrected rate while it falls outside 125-155 (inside the 120-160 asked,
 * with room). espeak-ng keeps global state: one mutex around all of it; the last label made is kept (the same text
 * is asked for again and again by a gateway). */
#include <espeak-ng/speak_lib.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "hegui/text.h"
#include "media/spoken.h"

#define SILENCE_LEVEL 400 /* |sample| below this, at either end, is not speech */
#define RATE_LOW 125.0    /* characters a minute: the band aimed at, inside GB 45438's 120-160 */
#define RATE_HIGH 155.0
#define RATE_AIM 140.0
#define MAX_SAMPLES (22050 * 120) /* two minutes of label at most */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int sample_rate;     /* espeak-ng's, once initialised; -1 when it could not be */
static char voice_used[40]; /* the voice that was set */
static struct {
  char *text;
  hg_spoken_kind kind;
  hg_pcm pcm;
  double cpm;
} last;

typedef struct sink {
  int16_t *s;
  size_t n, cap;
  int over;
} sink;

static int on_synth(short *wav, int count, espeak_EVENT *events) {
  sink *b = events ? events->user_data : NULL;
  if (!b || !wav || count <= 0) return 0;
  if (b->n + (size_t)count > MAX_SAMPLES) {
    b->over = 1;
    return 1;
  }
  if (b->n + (size_t)count > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 65536;
    while (cap < b->n + (size_t)count)
      cap *= 2;
    int16_t *s = realloc(b->s, cap * sizeof *s);
    if (!s) {
      b->over = 1;
      return 1;
    }
    b->s = s;
    b->cap = cap;
  }
  memcpy(b->s + b->n, wav, (size_t)count * sizeof *wav);
  b->n += (size_t)count;
  return 0;
}

/* 0, or -1 when espeak-ng cannot start (its data missing). The caller holds lock. */
static int start(hg_error *err) {
  if (sample_rate > 0) return 0;
  if (sample_rate < 0)
    return hg_fail(err, HG_ERR_IO, 0, 0, "espeak-ng could not start (is espeak-ng-data installed?)"), -1;
  int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL, espeakINITIALIZE_DONT_EXIT);
  if (rate <= 0) {
    sample_rate = -1;
    return hg_fail(err, HG_ERR_IO, 0, 0, "espeak-ng could not start (is espeak-ng-data installed?)"), -1;
  }
  espeak_SetSynthCallback(on_synth);
  const char *voices[] = {"cmn-latn-pinyin", "cmn", "zh"};
  for (size_t i = 0; i < sizeof voices / sizeof voices[0]; i++)
    if (espeak_SetVoiceByName(voices[i]) == EE_OK) {
      snprintf(voice_used, sizeof voice_used, "%s", voices[i]);
      break;
    }
  if (!voice_used[0]) {
    sample_rate = -1;
    return hg_fail(err, HG_ERR_IO, 0, 0, "espeak-ng has no Mandarin voice (cmn-latn-pinyin)"), -1;
  }
  sample_rate = rate;
  return 0;
}

hg_status hg_spoken_script(const char *text, char **out, size_t *characters, hg_error *err) {
  size_t len = strlen(text), cap = len * 4 + 16, n = 0, chars = 0, bad;
  if (hg_utf8_validate(text, len, &bad)) return hg_fail(err, HG_ERR_UTF8, 0, bad, "the spoken text is not UTF-8");
  char *s = malloc(cap);
  if (!s) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  size_t pos = 0;
  int word = 0; /* inside a run of Latin letters or digits */
  while (pos < len) {
    uint32_t cp;
    int used = hg_utf8_decode((const uint8_t *)text + pos, len - pos, &cp);
    if (used <= 0) break;
    pos += (size_t)used;
    const char *py = hg_pinyin(cp);
    unsigned tone = hg_pinyin_tone(cp);
    if (py && tone) {
      n += (size_t)snprintf(s + n, cap - n, "%s%s%u", n && s[n - 1] != ' ' ? " " : "", py, tone);
      chars++;
      word = 0;
    } else if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9')) {
      if (!word && n && s[n - 1] != ' ') s[n++] = ' ';
      s[n++] = (char)cp;
      chars++;
      word = 1;
    } else if (cp == 0x3002 || cp == 0xFF0C || cp == 0x3001 || cp == 0xFF01 || cp == 0xFF1F || cp == 0xFF1B ||
               cp == ',' || cp == '.' || cp == '!' || cp == '?' || cp == ';' || cp == ':' || cp == 0xFF1A) {
      if (n && s[n - 1] != ',') s[n++] = ',';
      word = 0;
    } else {
      word = 0;
    }
    if (n + 16 > cap) break;
  }
  while (n && (s[n - 1] == ' ' || s[n - 1] == ',')) /* no pause at the end */
    n--;
  s[n] = '\0';
  if (!chars) {
    free(s);
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "the spoken text has nothing to say (no Chinese character, letter or digit)");
  }
  *out = s;
  if (characters) *characters = chars;
  return HG_OK;
}

/* The first and last sample above the silence level. */
static void speech_span(const int16_t *s, size_t n, size_t *from, size_t *to) {
  size_t a = 0, b = n;
  while (a < n && abs(s[a]) < SILENCE_LEVEL)
    a++;
  while (b > a && abs(s[b - 1]) < SILENCE_LEVEL)
    b--;
  *from = a;
  *to = b;
}

static hg_status synthesize(const char *script, int rate, sink *b, hg_error *err) {
  b->n = 0;
  b->over = 0;
  espeak_SetParameter(espeakRATE, rate, 0);
  espeak_ERROR e = espeak_Synth(script, strlen(script) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, b);
  if (e != EE_OK || b->over) return hg_fail(err, HG_ERR_IO, 0, 0, "espeak-ng could not say the label");
  return HG_OK;
}

/* short-long-short-short: 150 ms, 450 ms, 150 ms, 150 ms of a 1 kHz tone, 150 ms apart, faded in and out */
static hg_status rhythm(int rate, hg_pcm *out, hg_error *err) {
  static const int parts_ms[] = {150, -150, 450, -150, 150, -150, 150};
  size_t total = 0;
  for (size_t i = 0; i < sizeof parts_ms / sizeof parts_ms[0]; i++)
    total += (size_t)abs(parts_ms[i]) * (size_t)rate / 1000;
  int16_t *s = calloc(total ? total : 1, sizeof *s);
  if (!s) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < sizeof parts_ms / sizeof parts_ms[0]; i++) {
    size_t len = (size_t)abs(parts_ms[i]) * (size_t)rate / 1000, fade = (size_t)rate / 200;
    for (size_t j = 0; j < len; j++, k++) {
      if (parts_ms[i] < 0) continue;
      double env = j < fade ? (double)j / fade : j > len - fade ? (double)(len - j) / fade : 1.0;
      s[k] = (int16_t)(12000.0 * env * sin(2.0 * M_PI * 1000.0 * (double)j / rate));
    }
  }
  out->samples = s;
  out->count = total;
  out->rate = (unsigned)rate;
  return HG_OK;
}

static hg_status copy_pcm(const hg_pcm *from, hg_pcm *to, hg_error *err) {
  to->samples = malloc(from->count * sizeof *from->samples + 1);
  if (!to->samples) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  memcpy(to->samples, from->samples, from->count * sizeof *from->samples);
  to->count = from->count;
  to->rate = from->rate;
  to->chars_per_minute = from->chars_per_minute;
  return HG_OK;
}

hg_status hg_spoken_label(const char *text, hg_spoken_kind kind, hg_pcm *out, hg_error *err) {
  memset(out, 0, sizeof *out);
  if (!text) text = HG_SPOKEN_TEXT_DEFAULT;
  pthread_mutex_lock(&lock);
  hg_status st = HG_OK;
  if (last.text && last.kind == kind && !strcmp(last.text, text)) {
    st = copy_pcm(&last.pcm, out, err);
    pthread_mutex_unlock(&lock);
    return st;
  }
  char *script = NULL;
  size_t chars = 0;
  if (kind == HG_SPOKEN_RHYTHM) {
    st = rhythm(22050, out, err);
  } else if (!(st = hg_spoken_script(text, &script, &chars, err)) && !start(err)) {
    sink b = {0};
    int rate = (int)RATE_AIM;
    double cpm = 0;
    for (int attempt = 0; attempt < 4 && !st; attempt++) {
      if ((st = synthesize(script, rate, &b, err))) break;
      size_t from, to;
      speech_span(b.s, b.n, &from, &to);
      double seconds = (double)(to - from) / sample_rate;
      cpm = seconds > 0 ? (double)chars * 60.0 / seconds : 0;
      if (cpm >= RATE_LOW && cpm <= RATE_HIGH) break;
      int next = cpm > 0 ? (int)lround(rate * RATE_AIM / cpm) : rate;
      if (next < espeakRATE_MINIMUM) next = espeakRATE_MINIMUM;
      if (next > espeakRATE_MAXIMUM) next = espeakRATE_MAXIMUM;
      if (next == rate) break;
      rate = next;
    }
    if (!st) {
      size_t from, to;
      speech_span(b.s, b.n, &from, &to);
      /* the speech itself, with 100 ms of quiet either side */
      size_t pad = (size_t)sample_rate / 10, a = from > pad ? from - pad : 0, z = to + pad < b.n ? to + pad : b.n;
      memmove(b.s, b.s + a, (z - a) * sizeof *b.s);
      out->samples = b.s;
      out->count = z - a;
      out->rate = (unsigned)sample_rate;
      out->chars_per_minute = cpm;
      b.s = NULL;
    }
    free(b.s);
  } else if (!st) {
    st = err ? err->status : HG_ERR_IO;
  }
  free(script);
  if (!st) { /* kept for the next call with the same text */
    char *t = strdup(text);
    hg_pcm keep;
    if (t && !copy_pcm(out, &keep, NULL)) {
      free(last.text);
      free(last.pcm.samples);
      last.text = t;
      last.kind = kind;
      last.pcm = keep;
    } else {
      free(t);
    }
  }
  pthread_mutex_unlock(&lock);
  return st;
}

hg_status hg_spoken_phonemes(const char *text, char **out, hg_error *err) {
  *out = NULL;
  char *script;
  hg_status st = hg_spoken_script(text ? text : HG_SPOKEN_TEXT_DEFAULT, &script, NULL, err);
  if (st) return st;
  size_t cap = 256, len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    free(script);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  buf[0] = '\0';
  pthread_mutex_lock(&lock);
  if (!(st = start(err))) {
    const void *p = script;
    while (p && !st) {
      const char *ph = espeak_TextToPhonemes(&p, espeakCHARS_UTF8, 0);
      if (!ph) break;
      size_t n = strlen(ph);
      if (len + n + 2 > cap) {
        while (len + n + 2 > cap)
          cap *= 2;
        char *grown = realloc(buf, cap);
        if (!grown) {
          st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
          break;
        }
        buf = grown;
      }
      if (len) buf[len++] = ' ';
      memcpy(buf + len, ph, n + 1);
      len += n;
    }
  }
  pthread_mutex_unlock(&lock);
  free(script);
  if (st) {
    free(buf);
    return st;
  }
  *out = buf;
  return HG_OK;
}

void hg_pcm_free(hg_pcm *pcm) {
  if (!pcm) return;
  free(pcm->samples);
  memset(pcm, 0, sizeof *pcm);
}

const char *hg_spoken_voice(void) { return voice_used; }

/* test_spoken.c — the spoken label and its insertion into WAV, checked from the outside.
 *
 * The script espeak-ng is given is compared with toned pinyin typed from a dictionary; the label's rate is measured
 * here (the span of samples above a silence level of our own, over the characters said) against GB 45438's 120-160
 * characters a minute; the rhythm's four tones are found by their energy and timed; and a WAV file labelled at the
 * start or the end is read back by a naive reader written here, frame by frame: its length is the original's plus
 * the label and the gap, and every original sample is there, unchanged, where it should be. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hegui/media.h"
#include "media/spoken.h"

static void script_is_toned_pinyin(void **state) {
  (void)state;
  char *s;
  size_t chars;
  assert_int_equal(hg_spoken_script("本内容由人工智能生成", &s, &chars, NULL), HG_OK);
  assert_string_equal(s, "ben3 nei4 rong2 you2 ren2 gong1 zhi4 neng2 sheng1 cheng2");
  assert_int_equal(chars, 10);
  free(s);
  assert_int_equal(hg_spoken_script("AI生成。好", &s, &chars, NULL), HG_OK);
  assert_string_equal(s, "AI sheng1 cheng2, hao3");
  assert_int_equal(chars, 5);
  free(s);
  hg_error err;
  assert_int_equal(hg_spoken_script("……", &s, &chars, &err), HG_ERR_INVALID);
  assert_int_equal(hg_spoken_script("\xff", &s, &chars, &err), HG_ERR_UTF8);
}

/* Whitespace squeezed, tone digits and stress marks dropped: the command line prints phonemes after the intonation
 * stage (tones such as 55, 35), espeak_TextToPhonemes before it; the phoneme sequence is what must agree. */
static void squeeze(char *s) {
  char *start = s, *o = s;
  int space = 1;
  for (; *s; s++) {
    if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r' || *s == '_' || *s == '|') {
      if (!space) *o++ = ' ';
      space = 1;
    } else if ((*s < '1' || *s > '5') && *s != '\'' && *s != ',') {
      *o++ = *s, space = 0;
    }
  }
  if (o > start && o[-1] == ' ') o--;
  *o = '\0';
}

/* What hegui has espeak-ng say (toned pinyin from Unihan) against espeak-ng's own reading of the characters, on its
 * command line: the same phonemes, and Mandarin throughout (espeak-ng 1.51's plain cmn voice switches to English,
 * "(en)", for the pinyin it cannot say). */
static void phonemes_match_espeak_reading(void **state) {
  (void)state;
  const char *texts[] = {"本内容由人工智能生成", "人工智能合成内容，请注意甄别"};
  for (size_t i = 0; i < 2; i++) {
    char cmd[300], cli[2048] = {0};
    snprintf(cmd, sizeof cmd, "espeak-ng -v cmn-latn-pinyin -q -x '%s' 2>/dev/null", texts[i]);
    FILE *f = popen(cmd, "r");
    size_t got = f ? fread(cli, 1, sizeof cli - 1, f) : 0;
    if (f) pclose(f);
    if (!got) skip(); /* the espeak-ng program is a test dependency (scripts/install-deps.sh test) */
    char *lib;
    assert_int_equal(hg_spoken_phonemes(texts[i], &lib, NULL), HG_OK);
    squeeze(cli);
    squeeze(lib);
    print_message("%s\n  espeak-ng reads: %s\n  hegui says:      %s\n", texts[i], cli, lib);
    assert_null(strstr(lib, "(en)"));
    assert_string_equal(lib, cli);
    free(lib);
  }
}

/* the speech's span by a threshold of the test's own */
static double seconds_of_speech(const hg_pcm *p) {
  size_t a = 0, b = p->count;
  while (a < b && abs(p->samples[a]) < 1000)
    a++;
  while (b > a && abs(p->samples[b - 1]) < 1000)
    b--;
  return (double)(b - a) / p->rate;
}

static void label_rate_in_band(void **state) {
  (void)state;
  const char *texts[] = {"本内容由人工智能生成", "本内容由人工智能合成，请注意甄别", "AI生成"};
  size_t chars[] = {10, 15, 4};
  for (size_t i = 0; i < 3; i++) {
    hg_pcm p;
    hg_error err;
    hg_status st = hg_spoken_label(texts[i], HG_SPOKEN_SPEECH, &p, &err);
    if (st) fail_msg("%s: %s", texts[i], err.message);
    double cpm = chars[i] * 60.0 / seconds_of_speech(&p);
    print_message("%s: %.2f s of speech, %.0f characters a minute (voice %s)\n", texts[i], seconds_of_speech(&p), cpm,
                  hg_spoken_voice());
    if (i < 2) { /* a sentence; a two-syllable acronym plus two characters is too short to hold a rate */
      assert_true(cpm >= 120.0);
      assert_true(cpm <= 160.0);
    }
    hg_pcm q; /* asked again: the same samples (kept), a copy of its own */
    assert_int_equal(hg_spoken_label(texts[i], HG_SPOKEN_SPEECH, &q, NULL), HG_OK);
    assert_int_equal(q.count, p.count);
    assert_memory_equal(q.samples, p.samples, p.count * sizeof *p.samples);
    hg_pcm_free(&q);
    hg_pcm_free(&p);
  }
}

static void rhythm_short_long_short_short(void **state) {
  (void)state;
  hg_pcm p;
  assert_int_equal(hg_spoken_label(NULL, HG_SPOKEN_RHYTHM, &p, NULL), HG_OK);
  /* runs of 10 ms windows with energy */
  size_t win = p.rate / 100, runs[8], nruns = 0, len = 0;
  for (size_t w = 0; w + win <= p.count; w += win) {
    double e = 0;
    for (size_t k = w; k < w + win; k++)
      e += (double)p.samples[k] * p.samples[k];
    int loud = sqrt(e / win) > 1000;
    if (loud) len++;
    if ((!loud || w + 2 * win > p.count) && len) {
      if (nruns < 8) runs[nruns++] = len;
      len = 0;
    }
  }
  assert_int_equal(nruns, 4);
  assert_true(runs[0] >= 13 && runs[0] <= 16);
  assert_true(runs[1] >= 43 && runs[1] <= 46);
  assert_true(runs[2] >= 13 && runs[2] <= 16 && runs[3] >= 13 && runs[3] <= 16);
  hg_pcm_free(&p);
}

/* ---- WAV ---- */

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xFFFF), put16(p + 2, v >> 16); }
static uint32_t get32(const uint8_t *p) {
  return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A WAV of frames of (tag, bits, channels) at rate, samples a counter, with a LIST chunk before the data and one
 * after (that must come through untouched). */
static uint8_t *make_wav(unsigned tag, unsigned bits, unsigned channels, unsigned rate, size_t frames, size_t *len) {
  size_t block = channels * bits / 8, data = frames * block;
  *len = 12 + 24 + 20 + 8 + data + (data & 1) + 14;
  uint8_t *w = calloc(1, *len);
  memcpy(w, "RIFF", 4), put32(w + 4, (uint32_t)(*len - 8)), memcpy(w + 8, "WAVE", 4);
  uint8_t *f = w + 12;
  memcpy(f, "fmt ", 4), put32(f + 4, 16), put16(f + 8, tag), put16(f + 10, channels), put32(f + 12, rate);
  put32(f + 16, (uint32_t)(rate * block)), put16(f + 20, (unsigned)block), put16(f + 22, bits);
  uint8_t *l = f + 24;
  memcpy(l, "LIST", 4), put32(l + 4, 12), memcpy(l + 8, "INFOISFT\4\0\0\0abc", 12);
  uint8_t *d = l + 20;
  memcpy(d, "data", 4), put32(d + 4, (uint32_t)data);
  for (size_t i = 0; i < data; i++)
    d[8 + i] = (uint8_t)(i * 7 + 3);
  uint8_t *t = d + 8 + data + (data & 1);
  memcpy(t, "cue ", 4), put32(t + 4, 6), memcpy(t + 8, "tail!!", 6);
  return w;
}

/* The naive reader: the data chunk's bytes, and whether the LIST and cue chunks are there as written. */
static const uint8_t *data_of(const uint8_t *w, size_t len, size_t *n, int *extras) {
  const uint8_t *data = NULL;
  *extras = 0;
  assert_int_equal(get32(w + 4), len - 8);
  for (size_t pos = 12; pos + 8 <= len;) {
    uint32_t size = get32(w + pos + 4);
    if (!memcmp(w + pos, "data", 4)) data = w + pos + 8, *n = size;
    if (!memcmp(w + pos, "LIST", 4) && size == 12 && !memcmp(w + pos + 8, "INFOISFT\4\0\0\0abc", 12)) (*extras)++;
    if (!memcmp(w + pos, "cue ", 4) && size == 6 && !memcmp(w + pos + 8, "tail!!", 6)) (*extras)++;
    pos += 8 + size + (size & 1);
  }
  return data;
}

static void wav_insert_keeps_every_sample(void **state) {
  (void)state;
  hg_pcm label;
  assert_int_equal(hg_spoken_label(NULL, HG_SPOKEN_SPEECH, &label, NULL), HG_OK);
  static const struct {
    unsigned tag, bits, channels, rate;
  } kinds[] = {{1, 16, 2, 44100}, {1, 8, 1, 8000},   {1, 24, 2, 48000}, {1, 32, 1, 16000},
               {3, 32, 2, 22050}, {3, 64, 1, 24000}, {1, 16, 6, 48000}};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    for (int at_end = 0; at_end < 2; at_end++) {
      size_t frames = 12345, len;
      uint8_t *in = make_wav(kinds[k].tag, kinds[k].bits, kinds[k].channels, kinds[k].rate, frames, &len), *out;
      size_t out_len, block = kinds[k].channels * kinds[k].bits / 8;
      hg_error err;
      hg_status st = hg_wav_insert_label(in, len, &label, at_end, &out, &out_len, &err);
      if (st) fail_msg("kind %zu: %s", k, err.message);
      size_t n_in, n_out;
      int extras_in, extras_out;
      const uint8_t *din = data_of(in, len, &n_in, &extras_in), *dout = data_of(out, out_len, &n_out, &extras_out);
      assert_int_equal(extras_out, 2);
      size_t label_frames = (size_t)((double)label.count * kinds[k].rate / label.rate);
      size_t gap = kinds[k].rate * HG_SPOKEN_GAP_MS / 1000;
      assert_int_equal(n_out, n_in + (label_frames + gap) * block);
      const uint8_t *where = at_end ? dout : dout + (label_frames + gap) * block;
      assert_memory_equal(where, din, n_in);
      /* the label is loud, the gap quiet: the loudest byte pattern differs from silence somewhere in the label */
      const uint8_t *lab = at_end ? dout + n_in + gap * block : dout;
      int differs = 0;
      for (size_t i = 0; i < label_frames * block && !differs; i++)
        differs = lab[i] != lab[0];
      assert_true(differs);
      free(in);
      free(out);
    }
  hg_pcm_free(&label);
}

static void wav_refusals(void **state) {
  (void)state;
  hg_pcm label;
  assert_int_equal(hg_spoken_label(NULL, HG_SPOKEN_RHYTHM, &label, NULL), HG_OK);
  size_t len;
  uint8_t *w = make_wav(1, 16, 1, 8000, 100, &len), *out;
  size_t out_len;
  hg_error err;
  for (size_t cut = 0; cut < 56; cut++) /* every cut inside the header and the fmt chunk */
    assert_int_not_equal(hg_wav_insert_label(w, cut, &label, 0, &out, &out_len, &err), HG_OK);
  put16(w + 20, 2); /* ADPCM */
  assert_int_equal(hg_wav_insert_label(w, len, &label, 0, &out, &out_len, &err), HG_ERR_INVALID);
  free(w);
  hg_pcm_free(&label);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(script_is_toned_pinyin),
      cmocka_unit_test(phonemes_match_espeak_reading),
      cmocka_unit_test(label_rate_in_band),
      cmocka_unit_test(rhythm_short_long_short_short),
      cmocka_unit_test(wav_insert_keeps_every_sample),
      cmocka_unit_test(wav_refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

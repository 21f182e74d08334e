/* spoken.h — the spoken label (spoken.c) and its insertion into audio (audio.c), private to src/media. The public
 * entry is hg_explicit_label_buffer (hegui/media.h) for the formats of audio. */
#ifndef HG_MEDIA_SPOKEN_H
#define HG_MEDIA_SPOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/media.h"
#include "hegui/status.h"

#define HG_SPOKEN_TEXT_DEFAULT "本内容由人工智能生成"
#define HG_SPOKEN_GAP_MS 300 /* quiet between the label and the content */

/* Mono 16-bit samples. */
typedef struct hg_pcm {
  int16_t *samples;
  size_t count;
  unsigned rate;
  double chars_per_minute; /* of the speech as measured (0 for the rhythm) */
} hg_pcm;

/* What espeak-ng is given for text: toned pinyin for Chinese characters, Latin letters and digits as they are,
 * a comma for punctuation. *out is malloc-ed; *characters counts what is said (for the rate). */
hg_status hg_spoken_script(const char *text, char **out, size_t *characters, hg_error *err);

/* The label said (or the rhythm), trimmed to its sound with 100 ms of quiet either side. Thread-safe. */
hg_status hg_spoken_label(const char *text, hg_spoken_kind kind, hg_pcm *out, hg_error *err);
void hg_pcm_free(hg_pcm *pcm);
/* The phonemes espeak-ng makes of what hegui gives it for text (espeak_TextToPhonemes; malloc-ed): for a test to
 * hold against espeak-ng's own reading of the characters. */
hg_status hg_spoken_phonemes(const char *text, char **out, hg_error *err);
/* The espeak-ng voice in use ("" before the first label). */
const char *hg_spoken_voice(void);

/* The label inserted into a WAV file (PCM 8/16/24/32-bit or 32/64-bit float, any channels; WAVE_FORMAT_EXTENSIBLE
 * too) at the start or the end, HG_SPOKEN_GAP_MS of quiet between; every other chunk kept in place. */
hg_status hg_wav_insert_label(const uint8_t *in, size_t len, const hg_pcm *label, int at_end, uint8_t **out,
                              size_t *out_len, hg_error *err);

/* The same for any audio FFmpeg's libraries decode and encode (MP3, FLAC, Ogg Vorbis/Opus, M4A/AAC): decoded,
 * the label put in, encoded again with the same codec, sample rate and channels (audio.c). */
hg_status hg_audio_insert_label(const char *format, const uint8_t *in, size_t len, const hg_pcm *label, int at_end,
                                uint8_t **out, size_t *out_len, hg_error *err);

#endif

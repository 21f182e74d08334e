/* sample_media.h — the sample upstream's image and audio routes (sample_media.c says what they answer). */
#ifndef SAMPLE_MEDIA_H
#define SAMPLE_MEDIA_H

#include <event2/http.h>

/* POST /v1/images/generations (0), /v1/images/edits (1); hold_path: --hold-file (NULL: none) */
void sample_images(struct evhttp_request *req, int edit, const char *hold_path);
void sample_files(struct evhttp_request *req, const char *name); /* GET /files/NAME */
void sample_speech(struct evhttp_request *req);                  /* POST /v1/audio/speech */
void sample_transcription(struct evhttp_request *req);           /* POST /v1/audio/transcriptions */

#endif

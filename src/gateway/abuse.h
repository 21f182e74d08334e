/* abuse.[ch] — behaviour a word list does not see (Art. 19): bulk near-duplicate generation by one user, the
 * pattern of content farms, hype and spam (the same template with small changes, many times an hour).
 *
 * Each allowed prompt leaves a 64-bit SimHash of its folded character 3-grams in a ring kept per user (the last
 * DUP_RING prompts); a prompt is a near-duplicate of an earlier one when their fingerprints differ in at most
 * strikes.near_duplicate_bits bits. dup_note returns how many prompts of the last hour the new one is a
 * near-duplicate of; the caller (chat.c) records a strike with its evidence once that reaches
 * strikes.near_duplicates_per_hour. The table is per gateway, guarded by a mutex, with a fixed number of users
 * (the least recently seen is replaced when it is full: a user who was quiet for long starts again from nothing).
 * Life cycle: dup_table_new at start, dup_note from any worker, dup_table_free at the end. */
#ifndef HG_GATEWAY_ABUSE_H
#define HG_GATEWAY_ABUSE_H

#include <stddef.h>
#include <stdint.h>

#define DUP_RING 128   /* prompts remembered per user */
#define DUP_USERS 4096 /* users remembered at once */

typedef struct dup_table dup_table;
dup_table *dup_table_new(void);
void dup_table_free(dup_table *t);

/* The SimHash of a text (folded, noise left out, character 3-grams); 0 for text too short to have one. */
uint64_t dup_fingerprint(const char *text, size_t len);
/* Notes the user's new fingerprint at now_ms and returns the number of the user's prompts of the last hour it is
 * within max_bits of. A fingerprint of 0 is not noted (0 returned). */
unsigned dup_note(dup_table *t, const char *user, uint64_t fp, int64_t now_ms, unsigned max_bits);

#endif

/* base/diff.c — the line diff of base/diff.h.
 *
 * Myers' greedy search walks diagonals k = x - y of the edit graph (x lines of a consumed, y of b): after d edits,
 * V[k] is the furthest x reachable on diagonal k, found from V[k-1] (a line of a deleted: one step right) or
 * V[k+1] (a line of b added: one step down) and then following equal lines ("the snake") as far as they go. The
 * first d at which (N, M) is reached is the length of the shortest script. To recover the script, V after each d
 * is kept (the trace: 1 + 3 + 5 + ... integers), and the path is walked back from (N, M). */
#include "base/diff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef struct line {
  const char *p;
  size_t len;
  uint64_t hash;
} line;

/* Splits text into lines ('\n' kept). *out is malloc-ed (NULL for an empty text). */
static hg_status split(const char *text, size_t len, line **out, size_t *count, hg_error *err) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += text[i] == '\n';
  if (len && text[len - 1] != '\n') n++;
  *out = NULL;
  *count = n;
  if (n > HG_DIFF_MAX_LINES)
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "a text of %zu lines is more than the diff takes (%u)", n,
                   HG_DIFF_MAX_LINES);
  if (!n) return HG_OK;
  line *l = malloc(n * sizeof *l);
  if (!l) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory for a diff");
  size_t k = 0, start = 0;
  for (size_t i = 0; i <= len && k < n; i++) {
    if (i == len || text[i] == '\n') {
      size_t end = i < len ? i + 1 : i;
      uint64_t h = 1469598103934665603ull; /* FNV-1a */
      for (size_t j = start; j < end; j++)
        h = (h ^ (unsigned char)text[j]) * 1099511628211ull;
      l[k++] = (line){text + start, end - start, h};
      start = end;
    }
  }
  *out = l;
  return HG_OK;
}

static int same(const line *x, const line *y) {
  return x->hash == y->hash && x->len == y->len && !memcmp(x->p, y->p, x->len);
}

typedef struct emitter {
  hg_diff_fn fn;
  void *ctx;
  int stopped;
} emitter;

static void emit(emitter *e, hg_diff_op op, size_t a_line, size_t b_line, const line *l) {
  if (e->stopped) return;
  hg_diff_line d = {op, a_line + 1, b_line + 1, l->p, l->len};
  e->stopped = e->fn(e->ctx, &d) != 0;
}

/* One step of the script found by the walk back, in reverse order. */
typedef struct step {
  hg_diff_op op;
  size_t x, y; /* the line of a (DEL, SAME) and of b (ADD, SAME), 0-based */
} step;

/* The shortest script from a[0..n) to b[0..m) into steps (reversed), or 1 when it needs more than max_d edits. */
static int myers(const line *a, size_t n, const line *b, size_t m, size_t max_d, step **steps_out, size_t *count,
                 hg_status *st, hg_error *err) {
  *steps_out = NULL;
  *count = 0;
  long N = (long)n, M = (long)m, limit = (long)(max_d < n + m ? max_d : n + m);
  long width = 2 * limit + 3; /* k from -(limit+1) to limit+1 */
  int32_t *v = malloc((size_t)width * sizeof *v); /* x <= HG_DIFF_MAX_LINES fits */
  /* trace[d] holds V[-d..d] after d edits: 2d+1 integers at offset d*d */
  int32_t *trace = malloc((size_t)(limit + 1) * (size_t)(limit + 1) * sizeof *trace);
  if (!v || !trace) {
    free(v);
    free(trace);
    *st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory for a diff");
    return 0;
  }
  int32_t *V = v + limit + 1;
  V[1] = 0;
  long found = -1;
  for (long d = 0; d <= limit && found < 0; d++) {
    for (long k = -d; k <= d; k += 2) {
      long x = (k == -d || (k != d && V[k - 1] < V[k + 1])) ? V[k + 1] : V[k - 1] + 1;
      long y = x - k;
      while (x < N && y < M && same(&a[x], &b[y]))
        x++, y++;
      V[k] = (int32_t)x;
      if (x >= N && y >= M) found = d;
    }
    memcpy(trace + d * d, V - d, (size_t)(2 * d + 1) * sizeof *V);
  }
  free(v);
  if (found < 0) {
    free(trace);
    return 1;
  }
  step *steps = malloc((n + m + 1) * sizeof *steps);
  if (!steps) {
    free(trace);
    *st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory for a diff");
    return 0;
  }
  size_t c = 0;
  long x = N, y = M;
  for (long d = found; d > 0; d--) {
    const int32_t *P = trace + (d - 1) * (d - 1) + (d - 1); /* V after d-1 edits, indexed by k */
    long k = x - y;
    int down = k == -d || (k != d && P[k - 1] < P[k + 1]);
    long pk = down ? k + 1 : k - 1;
    long px = P[pk], py = px - pk;
    long sx = down ? px : px + 1; /* where the snake of this step began */
    while (x > sx) {
      x--, y--;
      steps[c++] = (step){HG_DIFF_SAME, (size_t)x, (size_t)y};
    }
    if (down)
      steps[c++] = (step){HG_DIFF_ADD, (size_t)px, (size_t)py};
    else
      steps[c++] = (step){HG_DIFF_DEL, (size_t)px, (size_t)py};
    x = px, y = py;
  }
  while (x > 0 && y > 0) {
    x--, y--;
    steps[c++] = (step){HG_DIFF_SAME, (size_t)x, (size_t)y};
  }
  free(trace);
  *steps_out = steps;
  *count = c;
  return 0;
}

hg_status hg_diff_lines(const char *a, size_t alen, const char *b, size_t blen, hg_diff_fn fn, void *ctx,
                        int *minimal, hg_error *err) {
  if ((!a && alen) || (!b && blen) || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_diff_lines: bad arguments");
  line *la = NULL, *lb = NULL;
  size_t na, nb;
  hg_status st = split(a, alen, &la, &na, err);
  if (!st) st = split(b, blen, &lb, &nb, err);
  if (st) {
    free(la);
    free(lb);
    return st;
  }
  size_t head = 0, tail = 0;
  while (head < na && head < nb && same(&la[head], &lb[head]))
    head++;
  while (tail < na - head && tail < nb - head && same(&la[na - 1 - tail], &lb[nb - 1 - tail]))
    tail++;
  size_t ma = na - head - tail, mb = nb - head - tail;
  step *steps = NULL;
  size_t count = 0;
  int too_far = myers(la + head, ma, lb + head, mb, HG_DIFF_MAX_EDITS, &steps, &count, &st, err);
  if (st) {
    free(la);
    free(lb);
    return st;
  }
  if (minimal) *minimal = !too_far;
  emitter e = {fn, ctx, 0};
  for (size_t i = 0; i < head; i++)
    emit(&e, HG_DIFF_SAME, i, i, &lb[i]);
  if (too_far) {
    for (size_t i = 0; i < ma; i++)
      emit(&e, HG_DIFF_DEL, head + i, head, &la[head + i]);
    for (size_t i = 0; i < mb; i++)
      emit(&e, HG_DIFF_ADD, head + ma, head + i, &lb[head + i]);
  } else {
    for (size_t i = count; i-- > 0;) {
      const step *s = &steps[i];
      size_t ax = head + s->x, by = head + s->y;
      emit(&e, s->op, ax, by, s->op == HG_DIFF_DEL ? &la[ax] : &lb[by]);
    }
  }
  for (size_t i = 0; i < tail; i++)
    emit(&e, HG_DIFF_SAME, na - tail + i, nb - tail + i, &lb[nb - tail + i]);
  free(steps);
  free(la);
  free(lb);
  return HG_OK;
}

/* base/clock.h — the one clock of hegui. Two kinds of time:
 *  - wall time (hg_clock_wall_ms): milliseconds since the epoch, UTC; what records, windows (a minute, a local day)
 *    and deadlines that outlive the process are kept in;
 *  - monotonic time (hg_clock_mono_ms, hg_clock_mono_s): durations and timeouts, never stepped by NTP.
 *
 * Tests set the wall clock through this API, never through a variable read on every call: hg_clock_pin fixes it at
 * a value, hg_clock_follow makes it the number in a file the test rewrites while the process runs (a clock the test
 * moves), hg_clock_real goes back to the system's. The command line does the same with `--test-clock MS|@FILE`, and
 * reads HEGUI_TEST_NOW_MS once at start (hg_clock_from_env) for tests that start processes. The monotonic clock is
 * never replaced: durations are measured, not chosen.
 *
 * Thread safety: the readers may run on any thread at any time; a change is published whole (an atomic mode and
 * value; the followed path is set before the mode that uses it and never freed). */
#ifndef HG_BASE_CLOCK_H
#define HG_BASE_CLOCK_H

#include <stdint.h>

int64_t hg_clock_wall_ms(void);
int64_t hg_clock_mono_ms(void);
double hg_clock_mono_s(void);

/* The wall clock fixed at ms. */
void hg_clock_pin(int64_t ms);
/* The wall clock read from a file (a decimal number of milliseconds) at every call; when the file cannot be read,
 * the system's clock. 0, or -1 for a path longer than 4095 bytes. */
int hg_clock_follow(const char *path);
/* The system's wall clock again. */
void hg_clock_real(void);
/* "MS" pins, "@FILE" follows. 0, or -1 for anything else. */
int hg_clock_set(const char *spec);
/* Applies HEGUI_TEST_NOW_MS when set (read once). 0, or -1 when it is set and malformed. */
int hg_clock_from_env(void);

#endif

/* version.c — the library's version string. */
#include "hegui/hegui.h"

const char *hg_version(void) { return HG_VERSION_STRING; }

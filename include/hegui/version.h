/* hegui/version.h — the library's version. */
#ifndef HEGUI_VERSION_H
#define HEGUI_VERSION_H

#define HG_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif
const char *hg_version(void);
#ifdef __cplusplus
}
#endif
#endif

/* version.h: the sluice release, shown by the programs and the "ping" and
 * "stats" operations. */
#ifndef SLUICE_CORE_VERSION_H
#define SLUICE_CORE_VERSION_H

#define SLUICE_VERSION "0.1.0"

#endif

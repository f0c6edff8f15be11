/*
 * api: the one function table every user library receives (tw_api in include/tw.h), built in
 * one place the way sqlite builds sqlite3Apis: the registration calls (registry/reg.h), the
 * workflow calls (the engine) and the activity calls (act.c). A new entry of tw.h is filled
 * here and nowhere else.
 *
 * Ownership: the table is static and lives as long as the process (a library keeps a pointer
 * to it in tw__api). Errors: none. Threading: built once on first use (under a mutex), read-only
 * after, so any thread may call api_table().
 */
#ifndef TW_API_H
#define TW_API_H

#include "tw.h"

/* The table handed to every library (reg_load's |api|). Never NULL. */
const tw_api *api_table(void);

#endif

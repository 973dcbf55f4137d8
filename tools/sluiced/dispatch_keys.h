/* dispatch_keys.h: sluiced-internal: the keys.* ops (see dispatch.h and
 * dispatch_context.h). dispatch.c puts them in its op tables. Who may call
 * them is the auth module's business (auth.h), not theirs. */
#ifndef SLUICE_SLUICED_DISPATCH_KEYS_H
#define SLUICE_SLUICED_DISPATCH_KEYS_H

#include "tools/sluiced/dispatch_context.h"

/* read ops */
sl_err dk_get(dctx *c, failure *f);
sl_err dk_list(dctx *c, failure *f);

/* write ops */
sl_err dk_create(dctx *c, failure *f);  /* the reply holds the token, this once */
sl_err dk_revoke(dctx *c, failure *f);

#endif

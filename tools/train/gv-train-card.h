/* The model card of a trained checkpoint (README.md in the output folder, beside copies of
 * the loss curves and the sample grid): data, recipe, the exact command, per-stage steps,
 * final losses and time, the VAE's PSNR on whole frames, sizes, limits. */
#pragma once

#include "gv-train-run.h"
#include "gv-train-vae-check.h"

G_BEGIN_DECLS

typedef struct {
  const gchar *command;       /* may be NULL */
  GvTrainRecipe *recipe;
  GvTrainRun *run;
  guint64 bytes;              /* of the exported folder */
  gdouble session_seconds;
  const gchar *curves;        /* PNG paths (copied next to the card), samples may be NULL */
  const gchar *samples;
  const GvVaeCheck *vae_check;  /* the VAE on held-out whole frames; may be NULL */
  const gchar *from_dir;      /* the checkpoint the run started from (--from), or NULL */
} GvTrainCard;

gboolean gv_train_card_write (const GvTrainCard *card, const gchar *folder, GError **error);

G_END_DECLS

/* The inside of GvClip, for the files of gst/genvideo/ only: gv-clip.c owns the object, gv-edit.c
 * runs the stages on its results. */
#pragma once

#include "genvideo/gv-clip.h"
#include "genvideo/gv-invedit.h"

G_BEGIN_DECLS

struct _GvClip {
  /* fixed at creation */
  gint ref;             /* atomic */
  guint64 id;
  guint n_frames;
  guint width;
  guint height;

  GMutex lock;          /* guards prompts and holder */
  GCond released;       /* holder became NULL */
  GThread *holder;      /* the thread that holds the results (gv_clip_lock), or NULL */
  gchar *prompts[GV_CLIP_N_PROMPTS];

  /* the results: touched only by the holder */
  GvModel *model;                     /* a reference, set by gv_edit_prepare_source */
  GvUNetTemporal *temporal;
  GvTensor *z0;                       /* [F, C, h, w] */
  GvCondition uncond, source, target;
  gboolean has_source, has_target;
  GvInversion inversion;
  gfloat *masks;                      /* [F, h, w] */
  gfloat *differences;                /* [F, h, w]: what the masks were cut from */
  GvTensor *mask_tensor;              /* [F, 1, h, w] */
  GvTensor *result;                   /* final latents of the last generation */
};

/* Forgets every result except the model. */
void gv_clip_clear_results (GvClip *clip);

G_END_DECLS

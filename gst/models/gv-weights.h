/* The weights of one model component (a folder such as unet/ or vae/): its safetensors file(s)
 * found the diffusers way, tensors looked up by their diffusers / transformers names, checked
 * against the shape the network expects and uploaded to the device as float32. */
#pragma once

#include "models/gv-safetensors.h"
#include "nn/gv-tensor.h"

G_BEGIN_DECLS

typedef struct _GvWeights GvWeights;

/* Opens the weights of @folder: diffusion_pytorch_model.safetensors or model.safetensors, or
 * with @prefer_fp16 their *.fp16.safetensors variants when present; sharded checkpoints
 * (*.safetensors.index.json, *.safetensors.index.fp16.json) too. When only the other variant
 * is there, it is used (everything is converted to float32 anyway). Errors name the folder and
 * the files looked for. */
GvWeights *gv_weights_open (const gchar *folder, gboolean prefer_fp16, GError **error);
/* A single safetensors file (a tuned-layers file, a golden case). */
GvWeights *gv_weights_open_file (const gchar *path, GError **error);
void gv_weights_free (GvWeights *w);

const gchar *gv_weights_get_folder (GvWeights *w);
/* The file named in messages: the weights file, or the index of a sharded checkpoint. */
const gchar *gv_weights_get_source (GvWeights *w);
guint gv_weights_get_n_tensors (GvWeights *w);
/* Every tensor name, sorted; g_strfreev() it. */
gchar **gv_weights_list (GvWeights *w);
/* The names of the tensors that no load or read of @w has handed out yet, sorted (what a
 * network's loader left unused: see gv-layout-check.h); g_strfreev() it. */
gchar **gv_weights_list_unused (GvWeights *w);
/* TRUE when @name (or its legacy spelling) is stored. */
gboolean gv_weights_contains (GvWeights *w, const gchar *name);

/* The tensor @name uploaded to @dev (converted to float32), after checking that its shape is
 * @shape (@ndim dims). Errors (GV_ERROR_NOT_FOUND, GV_ERROR_CORRUPT) name the file, the tensor,
 * the shape found and the shape expected. The VAE's legacy attention names
 * (query/key/value/proj_attn) are accepted for to_q/to_k/to_v/to_out.0, and so is their old
 * 1x1-convolution shape [C, C, 1, 1] for [C, C]. */
GvTensor *gv_weights_load (GvWeights *w, GvDevice *dev, const gchar *name, gint ndim,
    const gint64 *shape, GError **error);
#define GV_WEIGHTS_LOAD(w, dev, name, error, ...) \
  gv_weights_load ((w), (dev), (name), GV_NDIMS (__VA_ARGS__), \
      (const gint64[]) { __VA_ARGS__ }, (error))

/* The values of @name as float32 on the host (shape checked likewise); g_free() it. */
gfloat *gv_weights_read (GvWeights *w, const gchar *name, gint ndim, const gint64 *shape,
    GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvWeights, gv_weights_free)

/* Loading a whole network with straight-line code: errors are sticky (the first one is kept,
 * later calls return NULL at once), uploads are batched on one GvCmd. */
typedef struct _GvLoader GvLoader;

/* @w may be NULL: an empty set (every optional tensor is absent). */
GvLoader *gv_loader_new (GvWeights *w, GvDevice *dev);
/* A loader that makes up every tensor it is asked for (uniform in +-1/sqrt(fan_in), seeded):
 * the real architecture at real size without its file (gv_unet_new_from_loader(); user:
 * tests/bench/gv-bench-model). Public API, not a test helper: it needs the loader's inside. */
GvLoader *gv_loader_new_random (GvDevice *dev, guint32 seed);
/* The GvCmd the uploads are recorded on (to fill tensors that are absent, say). */
GvCmd *gv_loader_get_cmd (GvLoader *l);
GvWeights *gv_loader_get_weights (GvLoader *l);
/* Names are relative to the prefix stack, joined with '.' ("down_blocks.0" + "resnets.1"). */
void gv_loader_push (GvLoader *l, const gchar *format, ...) G_GNUC_PRINTF (2, 3);
void gv_loader_pop (GvLoader *l);
/* The tensor prefix.@name of shape @shape, or NULL (and the loader failed). */
GvTensor *gv_loader_tensor (GvLoader *l, const gchar *name, gint ndim, const gint64 *shape);
/* The same, but a missing tensor is not an error: NULL is returned (a wrong shape still is). */
GvTensor *gv_loader_tensor_optional (GvLoader *l, const gchar *name, gint ndim,
    const gint64 *shape);
#define GV_LOAD(l, name, ...) \
  gv_loader_tensor ((l), (name), GV_NDIMS (__VA_ARGS__), (const gint64[]) { __VA_ARGS__ })
#define GV_LOAD_OPTIONAL(l, name, ...) \
  gv_loader_tensor_optional ((l), (name), GV_NDIMS (__VA_ARGS__), \
      (const gint64[]) { __VA_ARGS__ })
/* Called with the full name of every tensor the loader hands out from now on (a trainer's
 * parameters under their state-dict names, say). */
typedef void (*GvLoaderNameFunc) (const gchar *name, GvTensor *t, gpointer data);
void gv_loader_set_name_func (GvLoader *l, GvLoaderNameFunc fn, gpointer data);
gboolean gv_loader_failed (GvLoader *l);
/* Fails the loader with a message of the network's own (a bad config value, say). */
void gv_loader_failf (GvLoader *l, GvErrorCode code, const gchar *format, ...) G_GNUC_PRINTF (3, 4);
/* Waits for the uploads; FALSE with the first error. Frees the loader either way. After a
 * failure the tensors handed out hold undefined data: the caller drops them all (no partial
 * model is kept). */
gboolean gv_loader_finish (GvLoader *l, GError **error);

G_END_DECLS

#include "models/gv-image-preprocess.h"
#include "models/gv-model.h"

struct _GvModel {
  gint ref;
  GvDevice *dev;
  gchar *folder;
  GvCheckpointConfig *cfg;
  GvTokenizer *tokenizer;
  GvTextEncoder *text_encoder;
  GvImageEncoder *image_encoder;
  GvImageNoiser *noiser;
  GvUNet *unet;
  GvVae *vae;
};

static gchar *
component (GvModel *m, const gchar *name)
{
  return g_build_filename (m->folder, name, NULL);
}

/* Prefixes @error's message with the component it comes from. */
static gboolean
loaded (gpointer what, const gchar *name, GError **error)
{
  if (what == NULL && error != NULL && *error != NULL)
    g_prefix_error (error, "%s: ", name);
  return what != NULL;
}

static gboolean
missing (GError **error, const gchar *folder, const gchar *name)
{
  g_set_error (error, GV_ERROR, GV_ERROR_UNSUPPORTED, "%s: the checkpoint has no %s (an "
      "SD-2.1-unCLIP checkpoint is needed: see models/README.md)", folder, name);
  return FALSE;
}

static gboolean
load_components (GvModel *m, GError **error)
{
  const GvCheckpointConfig *c = m->cfg;
  gchar *dir;
  gboolean ok;

  if (!c->has_unet)
    return missing (error, m->folder, "unet");
  if (!c->has_vae)
    return missing (error, m->folder, "vae");
  if (!c->has_text_encoder || !c->has_tokenizer)
    return missing (error, m->folder, "text encoder and tokenizer");
  if (!c->has_image_encoder || !c->has_feature_extractor || !c->has_image_normalizer ||
      !c->has_image_noising_scheduler)
    return missing (error, m->folder, "image encoder, feature extractor, image normalizer and "
        "image noising scheduler");

  dir = component (m, "tokenizer");
  m->tokenizer = gv_tokenizer_new (dir, error);
  g_free (dir);
  if (!loaded (m->tokenizer, "tokenizer", error))
    return FALSE;
  dir = component (m, "text_encoder");
  m->text_encoder = gv_text_encoder_load (m->dev, dir, &c->text_encoder, error);
  g_free (dir);
  if (!loaded (m->text_encoder, "text_encoder", error))
    return FALSE;
  dir = component (m, "image_encoder");
  m->image_encoder = gv_image_encoder_load (m->dev, dir, &c->image_encoder, error);
  g_free (dir);
  if (!loaded (m->image_encoder, "image_encoder", error))
    return FALSE;
  dir = component (m, "image_normalizer");
  m->noiser = gv_image_noiser_load (m->dev, dir, &c->image_normalizer,
      &c->image_noising_scheduler, error);
  g_free (dir);
  if (!loaded (m->noiser, "image_normalizer", error))
    return FALSE;
  dir = component (m, "unet");
  m->unet = gv_unet_load (m->dev, dir, &c->unet, error);
  g_free (dir);
  if (!loaded (m->unet, "unet", error))
    return FALSE;
  dir = component (m, "vae");
  m->vae = gv_vae_load (m->dev, dir, &c->vae, error);
  g_free (dir);
  ok = loaded (m->vae, "vae", error);
  return ok;
}

static void model_free (GvModel *m);

GvModel *
gv_model_load (GvDevice *dev, const gchar *folder, GError **error)
{
  GvModel *m = g_new0 (GvModel, 1);
  m->ref = 1;
  m->dev = gv_device_ref (dev);
  m->folder = g_canonicalize_filename (folder, NULL);
  m->cfg = gv_checkpoint_config_load (m->folder, error);
  if (m->cfg == NULL || !load_components (m, error)) {
    /* not shared yet: freed directly (gv_model_get_shared holds the table's lock here) */
    model_free (m);
    return NULL;
  }
  return m;
}

static GMutex shared_lock;
static GHashTable *shared_models;   /* "device-pointer:folder" -> GvModel (weak) */

static gchar *
shared_key (GvDevice *dev, const gchar *folder)
{
  gchar *canon = g_canonicalize_filename (folder, NULL);
  gchar *key = g_strdup_printf ("%p:%s", (gpointer) dev, canon);
  g_free (canon);
  return key;
}

GvModel *
gv_model_get_shared (GvDevice *dev, const gchar *folder, GError **error)
{
  gchar *key = shared_key (dev, folder);
  GvModel *m;

  /* loading is slow: holding the lock makes a second element wait for the first load
   * instead of loading the same weights twice */
  g_mutex_lock (&shared_lock);
  if (shared_models == NULL)
    shared_models = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  m = g_hash_table_lookup (shared_models, key);
  if (m != NULL) {
    gv_model_ref (m);
    g_free (key);
  } else {
    m = gv_model_load (dev, folder, error);
    if (m != NULL)
      g_hash_table_insert (shared_models, key, m);
    else
      g_free (key);
  }
  g_mutex_unlock (&shared_lock);
  return m;
}

GvModel *
gv_model_ref (GvModel *m)
{
  g_atomic_int_inc (&m->ref);
  return m;
}

static void
forget_shared (GvModel *m)
{
  GHashTableIter it;
  gpointer value;

  if (shared_models == NULL)
    return;
  g_hash_table_iter_init (&it, shared_models);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (value == m)
      g_hash_table_iter_remove (&it);
}

void
gv_model_unref (GvModel *m)
{
  if (m == NULL)
    return;
  g_mutex_lock (&shared_lock);
  if (!g_atomic_int_dec_and_test (&m->ref)) {
    g_mutex_unlock (&shared_lock);
    return;
  }
  forget_shared (m);
  g_mutex_unlock (&shared_lock);
  model_free (m);
}

static void
model_free (GvModel *m)
{
  gv_tokenizer_free (m->tokenizer);
  gv_text_encoder_free (m->text_encoder);
  gv_image_encoder_free (m->image_encoder);
  gv_image_noiser_free (m->noiser);
  gv_unet_free (m->unet);
  gv_vae_free (m->vae);
  gv_checkpoint_config_free (m->cfg);
  gv_device_unref (m->dev);
  g_free (m->folder);
  g_free (m);
}

const GvCheckpointConfig *
gv_model_get_config (GvModel *m)
{
  return m->cfg;
}

GvDevice *
gv_model_get_device (GvModel *m)
{
  return m->dev;
}

const gchar *
gv_model_get_folder (GvModel *m)
{
  return m->folder;
}

GvTokenizer *
gv_model_get_tokenizer (GvModel *m)
{
  return m->tokenizer;
}

GvTextEncoder *
gv_model_get_text_encoder (GvModel *m)
{
  return m->text_encoder;
}

GvImageEncoder *
gv_model_get_image_encoder (GvModel *m)
{
  return m->image_encoder;
}

GvImageNoiser *
gv_model_get_image_noiser (GvModel *m)
{
  return m->noiser;
}

GvUNet *
gv_model_get_unet (GvModel *m)
{
  return m->unet;
}

GvVae *
gv_model_get_vae (GvModel *m)
{
  return m->vae;
}

GvScheduler *
gv_model_new_scheduler (GvModel *m, GError **error)
{
  return gv_scheduler_new (&m->cfg->scheduler, error);
}

GvTensor *
gv_model_encode_prompt (GvModel *m, GvCmd *cmd, const gchar *prompt)
{
  gint length = gv_tokenizer_get_max_length (m->tokenizer);
  gint32 *ids = g_new (gint32, length);
  gv_tokenizer_encode (m->tokenizer, prompt ? prompt : "", ids, NULL);
  GvTensor *out = gv_text_encoder_forward (m->text_encoder, cmd, ids, 1, length, NULL, NULL,
      NULL);
  g_free (ids);
  return out;
}

GvTensor *
gv_model_encode_image (GvModel *m, GvCmd *cmd, const guint8 *rgb, gint width, gint height,
    gint stride)
{
  const GvPreprocessorConfig *pc = &m->cfg->feature_extractor;
  gfloat *pixels = gv_clip_preprocess (pc, rgb, width, height, stride);
  GvTensor *pv = GV_TENSOR (cmd, 1, 3, pc->crop_height, pc->crop_width);
  gv_tensor_record_upload (cmd, pv, pixels);
  g_free (pixels);
  GvTensor *embeds = gv_image_encoder_forward (m->image_encoder, cmd, pv, NULL, NULL, NULL);
  gv_tensor_unref (pv);
  return embeds;
}

/**
 * SECTION:element-genvideotune
 * @title: genvideotune
 * @short_description: stage 1: encodes each clip and builds the video diffusion model for it
 *
 * The first of the three GenVideo stages. It collects a clip of #GstGenVideoClipFilter:clip-frames
 * frames and fine-tunes the inflated Stable Diffusion 2.1 unCLIP model on it (Tune-A-Video:
 * only the attention queries and the temporal attention are trained), conditioned on
 * #GstGenVideoTune:source-prompt. The tuned model and the clip's latents travel downstream in
 * the clip object of the frames' #GstGenVideoClipMeta, for invedit and latentcorrect.
 *
 * Each clip is encoded with the VAE, the inflated model is built with its temporal layers
 * initialised (or loaded from #GstGenVideoTune:tuned-location when that file exists: tuning is
 * then skipped; a clip-index pattern such as "tuned-%03u.safetensors" names one file per clip
 * of a stream), and #GstGenVideoTune:steps AdamW steps of Tune-A-Video's recipe train
 * attn1.to_q, attn2.to_q and the temporal attention on the clip (genvideo/gv-tune.h). Progress
 * messages of stage "tuning" carry the step's training loss in a double field "loss". The
 * frames pass through unchanged.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m videotestsrc pattern=ball num-buffers=16 ! \
 *     video/x-raw,width=256,height=256 ! videoconvert ! \
 *     genvideotune source-prompt="a white ball" clip-frames=8 ! fakesink
 * ]|
 */
#include "gstgenvideoelements.h"
#include "gstgenvideocompute.h"
#include "gstgenvideotune.h"

GST_DEBUG_CATEGORY_STATIC (gst_gen_video_tune_debug);
#define GST_CAT_DEFAULT gst_gen_video_tune_debug

#define DEFAULT_STEPS 300
#define DEFAULT_LEARNING_RATE 3e-5
/* recompute (per-block gradient checkpointing) is on by default from this many latent values
 * per channel in a clip (frames x latent height x latent width): 8 frames of 512x512 */
#define RECOMPUTE_FROM_LATENT_PIXELS (8 * 64 * 64)

enum {
  PROP_0,
  PROP_SOURCE_PROMPT,
  PROP_STEPS,
  PROP_LEARNING_RATE,
  PROP_TUNED_LOCATION,
  PROP_RECOMPUTE,
};

struct _GstGenVideoTune {
  GstGenVideoClipFilter parent;

  /* properties, under the object lock */
  gchar *source_prompt;
  guint steps;
  gdouble learning_rate;
  gchar *tuned_location;
  gboolean recompute;
  gboolean recompute_set;    /* recompute was set: no automatic choice */

  /* the streaming task's: clips begun since READY -> PAUSED (the clip index of
   * tuned-location's pattern) */
  guint clip_index;
};

G_DEFINE_TYPE_WITH_CODE (GstGenVideoTune, gst_gen_video_tune, GST_TYPE_GEN_VIDEO_CLIP_FILTER,
    GST_DEBUG_CATEGORY_INIT (gst_gen_video_tune_debug, "genvideotune", 0,
        "GenVideo fine-tuning"));
GST_ELEMENT_REGISTER_DEFINE (genvideotune, "genvideotune", GST_RANK_NONE,
    GST_TYPE_GEN_VIDEO_TUNE);

static void
on_step (gint step, gint total, gfloat loss, gpointer data)
{
  gst_gen_video_clip_filter_post_progress_loss (data, "tuning", (guint) step, (guint) total,
      loss);
}

static GstFlowReturn
gst_gen_video_tune_process_clip (GstGenVideoClipFilter *filter, GstGenVideoClipJob *job)
{
  GstGenVideoTune *self = GST_GEN_VIDEO_TUNE (filter);
  gboolean has_index = FALSE;

  GST_OBJECT_LOCK (self);
  gchar *prompt = g_strdup (self->source_prompt);
  gchar *tuned = g_strdup (self->tuned_location);
  GvTuneParams tune = {
    .steps = (gint) self->steps,
    .learning_rate = self->learning_rate,
    .recompute = self->recompute,
    .on_step = on_step,
    .on_step_data = self,
  };
  if (!self->recompute_set)
    tune.recompute = (guint64) job->n_frames * (GST_VIDEO_INFO_WIDTH (&job->info) / 8)
        * (GST_VIDEO_INFO_HEIGHT (&job->info) / 8) >= RECOMPUTE_FROM_LATENT_PIXELS;
  GST_OBJECT_UNLOCK (self);

  /* one file per clip when the location has a clip-index pattern (checked at start) */
  guint index = self->clip_index++;
  if (tuned != NULL && gv_tune_file_parse_location (tuned, &has_index, NULL) && has_index) {
    gchar *location = gv_tune_file_clip_location (tuned, index);
    g_free (tuned);
    tuned = location;
  }

  /* later stages condition their source branch on it */
  if (prompt)
    gv_clip_set_prompt (job->clip, GV_CLIP_PROMPT_SOURCE, prompt);
  GST_DEBUG_OBJECT (self, "clip %" G_GUINT64_FORMAT ": %u frames, source prompt \"%s\"",
      gv_clip_get_id (job->clip), job->n_frames, GST_STR_NULL (prompt));

  GstFlowReturn ret;
  gst_gen_video_prepare_source (filter, job, prompt, tuned, &tune, &ret);

  g_free (prompt);
  g_free (tuned);
  return ret;
}

/* READY -> PAUSED: a location that is not a valid pattern fails the state change */
static gboolean
gst_gen_video_tune_start (GstGenVideoClipFilter *filter)
{
  GstGenVideoTune *self = GST_GEN_VIDEO_TUNE (filter);
  GError *error = NULL;

  GST_OBJECT_LOCK (self);
  gboolean ok = self->tuned_location == NULL
      || gv_tune_file_parse_location (self->tuned_location, NULL, &error);
  self->clip_index = 0;
  GST_OBJECT_UNLOCK (self);
  if (!ok) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", error->message), (NULL));
    g_error_free (error);
    return FALSE;
  }
  return GST_GEN_VIDEO_CLIP_FILTER_CLASS (gst_gen_video_tune_parent_class)->start (filter);
}

static void
gst_gen_video_tune_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstGenVideoTune *self = GST_GEN_VIDEO_TUNE (object);

  GST_OBJECT_LOCK (self);
  if (!gst_gen_video_clip_filter_can_set_property (GST_GEN_VIDEO_CLIP_FILTER (self), pspec)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_SOURCE_PROMPT:
      g_free (self->source_prompt);
      self->source_prompt = g_value_dup_string (value);
      break;
    case PROP_STEPS:
      self->steps = g_value_get_uint (value);
      break;
    case PROP_LEARNING_RATE:
      self->learning_rate = g_value_get_double (value);
      break;
    case PROP_TUNED_LOCATION:
      g_free (self->tuned_location);
      self->tuned_location = g_value_dup_string (value);
      break;
    case PROP_RECOMPUTE:
      self->recompute = g_value_get_boolean (value);
      self->recompute_set = TRUE;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_gen_video_tune_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstGenVideoTune *self = GST_GEN_VIDEO_TUNE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SOURCE_PROMPT:
      g_value_set_string (value, self->source_prompt);
      break;
    case PROP_STEPS:
      g_value_set_uint (value, self->steps);
      break;
    case PROP_LEARNING_RATE:
      g_value_set_double (value, self->learning_rate);
      break;
    case PROP_TUNED_LOCATION:
      g_value_set_string (value, self->tuned_location);
      break;
    case PROP_RECOMPUTE:
      g_value_set_boolean (value, self->recompute);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_gen_video_tune_finalize (GObject *object)
{
  GstGenVideoTune *self = GST_GEN_VIDEO_TUNE (object);

  g_free (self->source_prompt);
  g_free (self->tuned_location);
  G_OBJECT_CLASS (gst_gen_video_tune_parent_class)->finalize (object);
}

static void
gst_gen_video_tune_class_init (GstGenVideoTuneClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  gobject_class->set_property = gst_gen_video_tune_set_property;
  gobject_class->get_property = gst_gen_video_tune_get_property;
  gobject_class->finalize = gst_gen_video_tune_finalize;
  GST_GEN_VIDEO_CLIP_FILTER_CLASS (klass)->process_clip = gst_gen_video_tune_process_clip;
  GST_GEN_VIDEO_CLIP_FILTER_CLASS (klass)->start = gst_gen_video_tune_start;

  g_object_class_install_property (gobject_class, PROP_SOURCE_PROMPT,
      g_param_spec_string ("source-prompt", "Source prompt",
          "Text that describes the input video, e.g. \"a silver car on a road\": it goes with "
          "the clip to invedit and latentcorrect, whose source branch it conditions. "
          "Applies from the next clip",
          NULL, flags | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_STEPS,
      g_param_spec_uint ("steps", "Steps",
          "Fine-tuning steps per clip (0 = no tuning: the inflated base model); each step's "
          "loss is in the progress messages. Applies from the next clip",
          0, 100000, DEFAULT_STEPS, flags | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_LEARNING_RATE,
      g_param_spec_double ("learning-rate", "Learning rate",
          "AdamW learning rate of the fine-tuning. Applies from the next clip",
          0.0, 1.0, DEFAULT_LEARNING_RATE, flags | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TUNED_LOCATION,
      g_param_spec_string ("tuned-location", "Tuned weights location",
          "safetensors file of the tuned layers: loaded (tuning skipped) when it exists and "
          "was tuned for this model, clip and settings, else written after tuning; a file of "
          "anything else is an error. For a stream of several clips, a clip-index pattern "
          "names one file per clip (%u, %d or e.g. %03u, counted from 0 since READY; %% for a "
          "percent sign): without one, a second clip of other frames is refused. NULL = "
          "nothing is read or written",
          NULL, flags | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_RECOMPUTE,
      g_param_spec_boolean ("recompute", "Recompute activations",
          "Keep only each UNet block's input during a tuning step and recompute the block "
          "during the backward pass (less memory, slower). Unless set, it is on for clips of "
          "at least 8 x 64 x 64 latent pixels (frames x height/8 x width/8, e.g. 8 frames "
          "of 512x512) and off below. Applies from the next clip",
          FALSE, flags | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata (element_class, "GenVideo fine-tuning",
      "Filter/Effect/Video",
      "Encodes each clip and fine-tunes the inflated video diffusion model on it (Tune-A-Video) "
      "for the GenVideo edit",
      GST_GEN_VIDEO_AUTHOR);
}

static void
gst_gen_video_tune_init (GstGenVideoTune *self)
{
  self->steps = DEFAULT_STEPS;
  self->learning_rate = DEFAULT_LEARNING_RATE;
}

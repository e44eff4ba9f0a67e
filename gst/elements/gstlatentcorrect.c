/**
 * SECTION:element-latentcorrect
 * @title: latentcorrect
 * @short_description: generation of the edited clip with latent correction
 *
 * The third GenVideo stage. Starting from the inverted latents of invedit, it denoises the
 * clip under the target conditions with DDIM (#GstLatentCorrect:steps steps, classifier-free
 * guidance), the target image embedding gated by the masks inside the UNet. During the first
 * #GstLatentCorrect:correction-steps steps it blends every masked latent pixel with its
 * nearest neighbours (by UNet feature similarity) in the previous and next frames, which keeps
 * the new object consistent over time (#GstLatentCorrect:correction-space says whether the
 * step's predicted clean latents or the noisy latents are blended);
 * #GstLatentCorrect:preserve-background keeps the source
 * outside the masks. Then it decodes the frames and pushes them with their original
 * timestamps; with #GstLatentCorrect:pixel-background (the default) the source frame's own
 * pixels stay outside the feathered masks.
 *
 * Without invedit upstream (no masks in the clip object) it inverts the clip itself and
 * re-generates the whole frame under the source conditions, and says so in a warning (once per
 * stream). After every corrected step an element message "genvideo-correction" gives the clip
 * id, the step and the mean cosine similarity of the matched features. Each clip reads the
 * three weights together and normalises them to sum 1; the element refuses to start only when
 * they are all 0.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m videotestsrc pattern=ball num-buffers=24 ! \
 *     video/x-raw,width=256,height=256 ! videoconvert ! \
 *     genvideotune ! invedit ! latentcorrect correction-steps=5 ! \
 *     videoconvert ! vp8enc ! webmmux ! filesink location=edited.webm
 * ]|
 */
#include <math.h>

#include "genvideo/gv-background.h"
#include "gstgenvideocompute.h"
#include "gstgenvideoelements.h"
#include "gstgenvideomessages.h"
#include "gstlatentcorrect.h"

GST_DEBUG_CATEGORY_STATIC (gst_latent_correct_debug);
#define GST_CAT_DEFAULT gst_latent_correct_debug

#define DEFAULT_STEPS 50
#define DEFAULT_GUIDANCE_SCALE 0.0   /* the model's own */
#define DEFAULT_CORRECTION_STEPS 5
#define DEFAULT_WEIGHT_PREV 0.25
#define DEFAULT_WEIGHT_CURRENT 0.5
#define DEFAULT_WEIGHT_NEXT 0.25
#define DEFAULT_SEARCH_RADIUS 0
#define DEFAULT_CORRECTION_SPACE GV_CORRECTION_PREDICTIONS
#define DEFAULT_PRESERVE_BACKGROUND TRUE
#define DEFAULT_PIXEL_BACKGROUND TRUE

enum {
  PROP_0,
  PROP_STEPS,
  PROP_GUIDANCE_SCALE,
  PROP_CORRECTION_STEPS,
  PROP_WEIGHT_PREV,
  PROP_WEIGHT_CURRENT,
  PROP_WEIGHT_NEXT,
  PROP_SEARCH_RADIUS,
  PROP_CORRECTION_SPACE,
  PROP_PRESERVE_BACKGROUND,
  PROP_PIXEL_BACKGROUND,
};

struct _GstLatentCorrect {
  GstGenVideoClipFilter parent;

  /* properties, under the object lock */
  guint steps;
  gdouble guidance_scale;
  guint correction_steps;
  gdouble weight_prev;
  gdouble weight_current;
  gdouble weight_next;
  guint search_radius;
  GvCorrectionSpace correction_space;
  gboolean preserve_background;
  gboolean pixel_background;

  gboolean warned_no_masks;     /* the missing masks were reported in this stream */
  /* the inversion-steps and steps last warned about (once per pair and stream), object lock */
  gint warned_inversion_steps;
  gint warned_steps;
};

G_DEFINE_TYPE_WITH_CODE (GstLatentCorrect, gst_latent_correct, GST_TYPE_GEN_VIDEO_CLIP_FILTER,
    GST_DEBUG_CATEGORY_INIT (gst_latent_correct_debug, "latentcorrect", 0,
        "GenVideo generation with latent correction"));
GST_ELEMENT_REGISTER_DEFINE (latentcorrect, "latentcorrect", GST_RANK_NONE,
    GST_TYPE_LATENT_CORRECT);

GType
gst_latent_correct_space_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GV_CORRECTION_LATENTS, "The noisy latents themselves (the paper)", "latents" },
    { GV_CORRECTION_PREDICTIONS, "The step's predicted clean latents; each frame keeps its "
          "own predicted noise", "predictions" },
    { 0, NULL, NULL }
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstLatentCorrectSpace", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static GvCorrectParams
read_params (GstLatentCorrect *self)
{
  GST_OBJECT_LOCK (self);
  GvCorrectParams p = {
    .steps = (gint) self->steps,
    .guidance_scale = (gfloat) self->guidance_scale,
    .correction_steps = (gint) self->correction_steps,
    .weight_prev = (gfloat) self->weight_prev,
    .weight_current = (gfloat) self->weight_current,
    .weight_next = (gfloat) self->weight_next,
    .search_radius = (gint) self->search_radius,
    .space = self->correction_space,
    .preserve_background = self->preserve_background,
  };
  GST_OBJECT_UNLOCK (self);
  return p;
}

/* The weights of @p (read together, under one lock, by read_params()) normalised to sum 1: an
 * application that sets them one by one may leave any sum between two of its sets, and a clip
 * may start there. FALSE (and an element error) only when they cannot blend: a negative weight
 * or all zero. */
static gboolean
normalise_weights (GstLatentCorrect *self, GvCorrectParams *p)
{
  gdouble sum = (gdouble) p->weight_prev + p->weight_current + p->weight_next;
  if (p->weight_prev < 0 || p->weight_current < 0 || p->weight_next < 0 || !(sum > 0)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("weight-prev, weight-current and weight-next must be >= 0 and not all 0, not "
            "%g, %g, %g.", p->weight_prev, p->weight_current, p->weight_next), (NULL));
    return FALSE;
  }
  if (fabs (sum - 1.0) > 1e-6)
    GST_DEBUG_OBJECT (self, "weights %g, %g, %g normalised to sum 1", p->weight_prev,
        p->weight_current, p->weight_next);
  p->weight_prev = (gfloat) (p->weight_prev / sum);
  p->weight_current = (gfloat) (p->weight_current / sum);
  p->weight_next = (gfloat) (p->weight_next / sum);
  return TRUE;
}

typedef struct {
  GstLatentCorrect *self;
  GvClip *clip;
} CorrectionPoster;

static void
post_correction (const GvCorrectionReport *report, gpointer data)
{
  CorrectionPoster *r = data;
  GstStructure *s = gst_structure_new (GST_GEN_VIDEO_MESSAGE_CORRECTION,
      GST_GEN_VIDEO_FIELD_CLIP_ID, G_TYPE_UINT64, gv_clip_get_id (r->clip),
      GST_GEN_VIDEO_FIELD_STEP, G_TYPE_INT, report->step,
      GST_GEN_VIDEO_FIELD_MEAN_COSINE, G_TYPE_DOUBLE, report->mean_cosine, NULL);
  gst_element_post_message (GST_ELEMENT (r->self), gst_message_new_element (GST_OBJECT (r->self),
          s));
}

/* The weights of the decoded frames for the background in pixels (gv-background.h), or NULL
 * where the decoded frames are kept whole: pixel-background off, no background preservation,
 * or no masks. */
static gfloat *
pixel_background_weights (GstLatentCorrect *self, GvClip *clip, const GvCorrectParams *p,
    gint width, gint height)
{
  GST_OBJECT_LOCK (self);
  gboolean pixel = self->pixel_background;
  GST_OBJECT_UNLOCK (self);
  if (!pixel || !p->preserve_background || !gv_edit_has_masks (clip))
    return NULL;
  return gv_background_weights (gv_edit_get_masks (clip, NULL), (gint) gv_clip_get_n_frames (clip),
      gv_edit_get_latent_width (clip), gv_edit_get_latent_height (clip), width, height,
      GV_BACKGROUND_FEATHER);
}

/* writes the generated frames ([F, 3, H, W] in [-1, 1]) over the frames' colours; with
 * @weights, the frame's own pixels stay outside the masks */
static GstFlowReturn
write_frames (GstLatentCorrect *self, GstGenVideoClipJob *job, gfloat *images,
    const gfloat *weights)
{
  gint w = GST_VIDEO_INFO_WIDTH (&job->info), h = GST_VIDEO_INFO_HEIGHT (&job->info);
  GvPixelFormat format = GST_VIDEO_INFO_FORMAT (&job->info) == GST_VIDEO_FORMAT_RGBA ?
      GV_PIXELS_RGBA : GV_PIXELS_RGB;

  for (guint i = 0; i < job->n_frames; i++) {
    GstVideoFrame frame;
    job->frames[i] = gst_buffer_make_writable (job->frames[i]);
    if (!gst_video_frame_map (&frame, &job->info, job->frames[i], GST_MAP_READWRITE)) {
      GST_ELEMENT_ERROR (self, RESOURCE, FAILED, ("A frame could not be written."), (NULL));
      return GST_FLOW_ERROR;
    }
    gfloat *image = images + (gsize) i * 3 * w * h;
    if (weights != NULL) {
      GvPicture source = { GST_VIDEO_FRAME_PLANE_DATA (&frame, 0),
        GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0) };
      gv_background_composite (image, w, h, &source, format, weights + (gsize) i * w * h);
    }
    /* RGB written, alpha (if any) kept as it came */
    gv_image_to_picture (image, w, h,
        GST_VIDEO_FRAME_PLANE_DATA (&frame, 0), GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0),
        format);
    gst_video_frame_unmap (&frame);
  }
  return GST_FLOW_OK;
}

/* Sampling with other steps than the inversion runs on the inversion's trajectory
 * (gv_inversion_at) but no longer retraces it: said once for each pair of values. */
static void
warn_steps_mismatch (GstLatentCorrect *self, GvClip *clip, const GvCorrectParams *p)
{
  gint inversion_steps = gv_edit_get_inversion_steps (clip);
  if (inversion_steps == 0 || inversion_steps == p->steps)
    return;
  GST_OBJECT_LOCK (self);
  gboolean said = self->warned_inversion_steps == inversion_steps
      && self->warned_steps == p->steps;
  self->warned_inversion_steps = inversion_steps;
  self->warned_steps = p->steps;
  GST_OBJECT_UNLOCK (self);
  if (said)
    return;
  GST_ELEMENT_WARNING (self, STREAM, FAILED,
      ("steps (%d) differs from the inversion-steps of invedit (%d): the edit starts from the "
          "inversion's latents at its own first timestep and the background follows the "
          "inversion less closely; set both to the same value.", p->steps, inversion_steps),
      ("clip %" G_GUINT64_FORMAT, gv_clip_get_id (clip)));
}

static GstFlowReturn
gst_latent_correct_process_clip (GstGenVideoClipFilter *filter, GstGenVideoClipJob *job)
{
  GstLatentCorrect *self = GST_LATENT_CORRECT (filter);
  GvCorrectParams p = read_params (self);
  GError *error = NULL;
  GstFlowReturn ret;

  if (!normalise_weights (self, &p))
    return GST_FLOW_ERROR;
  if (!gst_gen_video_ensure_source (filter, job, &ret))
    return ret;
  if (!gv_edit_has_masks (job->clip)) {
    GST_OBJECT_LOCK (self);
    gboolean warn = !self->warned_no_masks;
    self->warned_no_masks = TRUE;
    GST_OBJECT_UNLOCK (self);
    if (warn)
      GST_ELEMENT_WARNING (self, STREAM, FAILED,
          ("No masks in the clip (no invedit upstream?): the whole frame is re-generated."),
          ("clip %" G_GUINT64_FORMAT " (said once per stream)", gv_clip_get_id (job->clip)));
    else
      GST_DEBUG_OBJECT (self, "clip %" G_GUINT64_FORMAT ": no masks either",
          gv_clip_get_id (job->clip));
  }
  warn_steps_mismatch (self, job->clip, &p);
  GvEditEnv env;
  gst_gen_video_edit_env (filter, &env);
  CorrectionPoster poster = { self, job->clip };
  gfloat *images = gv_edit_generate (job->clip, &env, &p, post_correction, &poster, &error);
  if (images == NULL)
    return gst_gen_video_post_error (filter, "Generating the clip", error);
  gfloat *weights = pixel_background_weights (self, job->clip, &p,
      GST_VIDEO_INFO_WIDTH (&job->info), GST_VIDEO_INFO_HEIGHT (&job->info));
  ret = write_frames (self, job, images, weights);
  g_free (weights);
  g_free (images);
  return ret;
}

static GstStateChangeReturn
gst_latent_correct_change_state (GstElement *element, GstStateChange transition)
{
  GstLatentCorrect *self = GST_LATENT_CORRECT (element);

  /* refuse to start with weights that cannot blend */
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    GvCorrectParams p = read_params (self);
    if (!normalise_weights (self, &p))
      return GST_STATE_CHANGE_FAILURE;
    GST_OBJECT_LOCK (self);
    self->warned_no_masks = FALSE;
    self->warned_inversion_steps = self->warned_steps = 0;
    GST_OBJECT_UNLOCK (self);
  }
  return GST_ELEMENT_CLASS (gst_latent_correct_parent_class)->change_state (element,
      transition);
}

static void
gst_latent_correct_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstLatentCorrect *self = GST_LATENT_CORRECT (object);

  GST_OBJECT_LOCK (self);
  if (!gst_gen_video_clip_filter_can_set_property (GST_GEN_VIDEO_CLIP_FILTER (self), pspec)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_STEPS:
      self->steps = g_value_get_uint (value);
      break;
    case PROP_GUIDANCE_SCALE:
      self->guidance_scale = g_value_get_double (value);
      break;
    case PROP_CORRECTION_STEPS:
      self->correction_steps = g_value_get_uint (value);
      break;
    case PROP_WEIGHT_PREV:
      self->weight_prev = g_value_get_double (value);
      break;
    case PROP_WEIGHT_CURRENT:
      self->weight_current = g_value_get_double (value);
      break;
    case PROP_WEIGHT_NEXT:
      self->weight_next = g_value_get_double (value);
      break;
    case PROP_SEARCH_RADIUS:
      self->search_radius = g_value_get_uint (value);
      break;
    case PROP_CORRECTION_SPACE:
      self->correction_space = g_value_get_enum (value);
      break;
    case PROP_PRESERVE_BACKGROUND:
      self->preserve_background = g_value_get_boolean (value);
      break;
    case PROP_PIXEL_BACKGROUND:
      self->pixel_background = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_latent_correct_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstLatentCorrect *self = GST_LATENT_CORRECT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_STEPS:
      g_value_set_uint (value, self->steps);
      break;
    case PROP_GUIDANCE_SCALE:
      g_value_set_double (value, self->guidance_scale);
      break;
    case PROP_CORRECTION_STEPS:
      g_value_set_uint (value, self->correction_steps);
      break;
    case PROP_WEIGHT_PREV:
      g_value_set_double (value, self->weight_prev);
      break;
    case PROP_WEIGHT_CURRENT:
      g_value_set_double (value, self->weight_current);
      break;
    case PROP_WEIGHT_NEXT:
      g_value_set_double (value, self->weight_next);
      break;
    case PROP_SEARCH_RADIUS:
      g_value_set_uint (value, self->search_radius);
      break;
    case PROP_CORRECTION_SPACE:
      g_value_set_enum (value, self->correction_space);
      break;
    case PROP_PRESERVE_BACKGROUND:
      g_value_set_boolean (value, self->preserve_background);
      break;
    case PROP_PIXEL_BACKGROUND:
      g_value_set_boolean (value, self->pixel_background);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static GParamSpec *
weight_param (const gchar *name, const gchar *nick, const gchar *blurb, gdouble def)
{
  return g_param_spec_double (name, nick, blurb, 0.0, 1.0, def,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
}

static void
gst_latent_correct_class_init (GstLatentCorrectClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;

  gobject_class->set_property = gst_latent_correct_set_property;
  gobject_class->get_property = gst_latent_correct_get_property;
  element_class->change_state = gst_latent_correct_change_state;
  GST_GEN_VIDEO_CLIP_FILTER_CLASS (klass)->process_clip = gst_latent_correct_process_clip;

  /* all apply from the next clip */
  g_object_class_install_property (gobject_class, PROP_STEPS,
      g_param_spec_uint ("steps", "Steps",
          "DDIM denoising steps of the generation; background preservation follows the "
          "inversion trajectory, so keep it equal to invedit's inversion-steps. "
          "Applies from the next clip", 1, 1000, DEFAULT_STEPS, flags));
  g_object_class_install_property (gobject_class, PROP_GUIDANCE_SCALE,
      g_param_spec_double ("guidance-scale", "Guidance scale",
          "Classifier-free guidance scale of the generation (1 or less = no guidance; 0 = the "
          "model's own: guidance_scale of generation_config.json in its folder, else 7.5). "
          "Applies from the next clip", 0.0, 100.0, DEFAULT_GUIDANCE_SCALE, flags));
  g_object_class_install_property (gobject_class, PROP_CORRECTION_STEPS,
      g_param_spec_uint ("correction-steps", "Correction steps",
          "Latent correction runs during this many first denoising steps (0 = off). "
          "Applies from the next clip", 0, 1000, DEFAULT_CORRECTION_STEPS, flags));
  g_object_class_install_property (gobject_class, PROP_WEIGHT_PREV,
      weight_param ("weight-prev", "Weight of the previous frame",
          "Weight of the nearest neighbour in the previous frame in the correction blend "
          "(each clip reads the three weights together and normalises them to sum 1, also "
          "at the clip's ends; all 0 is an error). Applies from the next clip",
          DEFAULT_WEIGHT_PREV));
  g_object_class_install_property (gobject_class, PROP_WEIGHT_CURRENT,
      weight_param ("weight-current", "Weight of the current frame",
          "Weight of the latent pixel itself in the correction blend. "
          "Applies from the next clip", DEFAULT_WEIGHT_CURRENT));
  g_object_class_install_property (gobject_class, PROP_WEIGHT_NEXT,
      weight_param ("weight-next", "Weight of the next frame",
          "Weight of the nearest neighbour in the next frame in the correction blend. "
          "Applies from the next clip", DEFAULT_WEIGHT_NEXT));
  g_object_class_install_property (gobject_class, PROP_SEARCH_RADIUS,
      g_param_spec_uint ("search-radius", "Search radius",
          "Radius in latent pixels (8 frame pixels each with SD's VAE) of the window where "
          "nearest neighbours are searched (0 = the whole frame). Applies from the next clip",
          0, 4096, DEFAULT_SEARCH_RADIUS, flags));
  g_object_class_install_property (gobject_class, PROP_CORRECTION_SPACE,
      g_param_spec_enum ("correction-space", "Correction space",
          "What the correction blends: each step's predicted clean latents, every frame "
          "keeping its own predicted noise (predictions), or the noisy latents themselves "
          "(latents, as the paper writes it: the blend also averages the frames' noise away, "
          "which darkens and speckles the frames it blends). Applies from the next clip",
          GST_TYPE_LATENT_CORRECT_SPACE, DEFAULT_CORRECTION_SPACE, flags));
  g_object_class_install_property (gobject_class, PROP_PRESERVE_BACKGROUND,
      g_param_spec_boolean ("preserve-background", "Preserve background",
          "Keep the source outside the masks (the latents follow the inversion trajectory "
          "there); off lets the background change with the target prompt. "
          "Applies from the next clip", DEFAULT_PRESERVE_BACKGROUND, flags));
  g_object_class_install_property (gobject_class, PROP_PIXEL_BACKGROUND,
      g_param_spec_boolean ("pixel-background", "Background in pixels",
          "With preserve-background: also keep the source frame's own pixels outside the "
          "masks after decoding (masks upsampled to the frame and feathered by 3 pixels), so "
          "that the background is the source's exactly, not its VAE reconstruction; off keeps "
          "the latent preservation alone (the paper). Applies from the next clip",
          DEFAULT_PIXEL_BACKGROUND, flags));

  gst_element_class_set_static_metadata (element_class, "GenVideo generation",
      "Filter/Effect/Video",
      "Generates the edited clip with latent correction across frames for the GenVideo edit",
      GST_GEN_VIDEO_AUTHOR);
  gst_type_mark_as_plugin_api (GST_TYPE_LATENT_CORRECT_SPACE, 0);
}

static void
gst_latent_correct_init (GstLatentCorrect *self)
{
  self->steps = DEFAULT_STEPS;
  self->guidance_scale = DEFAULT_GUIDANCE_SCALE;
  self->correction_steps = DEFAULT_CORRECTION_STEPS;
  self->weight_prev = DEFAULT_WEIGHT_PREV;
  self->weight_current = DEFAULT_WEIGHT_CURRENT;
  self->weight_next = DEFAULT_WEIGHT_NEXT;
  self->search_radius = DEFAULT_SEARCH_RADIUS;
  self->correction_space = DEFAULT_CORRECTION_SPACE;
  self->preserve_background = DEFAULT_PRESERVE_BACKGROUND;
  self->pixel_background = DEFAULT_PIXEL_BACKGROUND;
}

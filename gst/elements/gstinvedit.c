/**
 * SECTION:element-invedit
 * @title: invedit
 * @short_description: DDIM inversion and InvEdit masks of each clip
 *
 * The second GenVideo stage. It inverts every frame of the clip to noise with DDIM
 * (#GstInvEdit:inversion-steps steps, no guidance), then runs a source branch (source prompt)
 * and a target branch (#GstInvEdit:target-prompt and the object of
 * #GstInvEdit:target-location) side by side; where their noise predictions differ is where the
 * edit goes: that gives a mask per frame (DiffEdit's rule, extended to video and to targets of
 * another shape). The inverted latents, their trajectory and the masks travel downstream in
 * the clip object for latentcorrect. Without genvideotune upstream it works with the base
 * model.
 *
 * This version collects and pushes the clips unchanged and records the target prompt in the
 * clip object; inversion and masks come with the model code.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m videotestsrc pattern=ball num-buffers=16 ! \
 *     video/x-raw,width=256,height=256 ! videoconvert ! \
 *     genvideotune source-prompt="a white ball" ! \
 *     invedit target-prompt="a red apple" target-location=apple.png ! fakesink
 * ]|
 */
#include "gstgenvideoelements.h"
#include "gstinvedit.h"

GST_DEBUG_CATEGORY_STATIC (gst_inv_edit_debug);
#define GST_CAT_DEFAULT gst_inv_edit_debug

#define DEFAULT_INVERSION_STEPS 50
#define DEFAULT_GUIDANCE_SCALE 7.5
#define DEFAULT_MASK_THRESHOLD 0.5
#define DEFAULT_MASK_DILATION 0

enum {
  PROP_0,
  PROP_TARGET_PROMPT,
  PROP_TARGET_LOCATION,
  PROP_TARGET_MASK_LOCATION,
  PROP_INVERSION_STEPS,
  PROP_GUIDANCE_SCALE,
  PROP_MASK_THRESHOLD,
  PROP_MASK_DILATION,
};

struct _GstInvEdit {
  GstGenVideoClipFilter parent;

  /* properties, under the object lock */
  gchar *target_prompt;
  gchar *target_location;
  gchar *target_mask_location;
  guint inversion_steps;
  gdouble guidance_scale;
  gdouble mask_threshold;
  guint mask_dilation;
};

G_DEFINE_TYPE_WITH_CODE (GstInvEdit, gst_inv_edit, GST_TYPE_GEN_VIDEO_CLIP_FILTER,
    GST_DEBUG_CATEGORY_INIT (gst_inv_edit_debug, "invedit", 0,
        "GenVideo inversion and InvEdit masks"));
GST_ELEMENT_REGISTER_DEFINE (invedit, "invedit", GST_RANK_NONE, GST_TYPE_INV_EDIT);

static GstFlowReturn
gst_inv_edit_process_clip (GstGenVideoClipFilter *filter, GstGenVideoClipJob *job)
{
  GstInvEdit *self = GST_INV_EDIT (filter);

  GST_OBJECT_LOCK (self);
  gchar *prompt = g_strdup (self->target_prompt);
  GST_OBJECT_UNLOCK (self);

  /* latentcorrect conditions its target branch on it */
  if (prompt)
    gv_clip_set_prompt (job->clip, GV_CLIP_PROMPT_TARGET, prompt);
  GST_DEBUG_OBJECT (self, "clip %" G_GUINT64_FORMAT ": %u frames, target prompt \"%s\"",
      gv_clip_get_id (job->clip), job->n_frames, GST_STR_NULL (prompt));
  g_free (prompt);

  return GST_GEN_VIDEO_CLIP_FILTER_CLASS (gst_inv_edit_parent_class)->process_clip (filter, job);
}

static void
gst_inv_edit_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstInvEdit *self = GST_INV_EDIT (object);

  GST_OBJECT_LOCK (self);
  if (!gst_gen_video_clip_filter_can_set_property (GST_GEN_VIDEO_CLIP_FILTER (self), pspec)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_TARGET_PROMPT:
      g_free (self->target_prompt);
      self->target_prompt = g_value_dup_string (value);
      break;
    case PROP_TARGET_LOCATION:
      g_free (self->target_location);
      self->target_location = g_value_dup_string (value);
      break;
    case PROP_TARGET_MASK_LOCATION:
      g_free (self->target_mask_location);
      self->target_mask_location = g_value_dup_string (value);
      break;
    case PROP_INVERSION_STEPS:
      self->inversion_steps = g_value_get_uint (value);
      break;
    case PROP_GUIDANCE_SCALE:
      self->guidance_scale = g_value_get_double (value);
      break;
    case PROP_MASK_THRESHOLD:
      self->mask_threshold = g_value_get_double (value);
      break;
    case PROP_MASK_DILATION:
      self->mask_dilation = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_inv_edit_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstInvEdit *self = GST_INV_EDIT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_TARGET_PROMPT:
      g_value_set_string (value, self->target_prompt);
      break;
    case PROP_TARGET_LOCATION:
      g_value_set_string (value, self->target_location);
      break;
    case PROP_TARGET_MASK_LOCATION:
      g_value_set_string (value, self->target_mask_location);
      break;
    case PROP_INVERSION_STEPS:
      g_value_set_uint (value, self->inversion_steps);
      break;
    case PROP_GUIDANCE_SCALE:
      g_value_set_double (value, self->guidance_scale);
      break;
    case PROP_MASK_THRESHOLD:
      g_value_set_double (value, self->mask_threshold);
      break;
    case PROP_MASK_DILATION:
      g_value_set_uint (value, self->mask_dilation);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_inv_edit_finalize (GObject *object)
{
  GstInvEdit *self = GST_INV_EDIT (object);

  g_free (self->target_prompt);
  g_free (self->target_location);
  g_free (self->target_mask_location);
  G_OBJECT_CLASS (gst_inv_edit_parent_class)->finalize (object);
}

static void
gst_inv_edit_class_init (GstInvEditClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;

  gobject_class->set_property = gst_inv_edit_set_property;
  gobject_class->get_property = gst_inv_edit_get_property;
  gobject_class->finalize = gst_inv_edit_finalize;
  GST_GEN_VIDEO_CLIP_FILTER_CLASS (klass)->process_clip = gst_inv_edit_process_clip;

  /* all apply from the next clip */
  g_object_class_install_property (gobject_class, PROP_TARGET_PROMPT,
      g_param_spec_string ("target-prompt", "Target prompt",
          "Text that describes the edited video, e.g. \"a red cadillac on a road\". "
          "Applies from the next clip", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_TARGET_LOCATION,
      g_param_spec_string ("target-location", "Target image location",
          "Image file of the new object: its alpha channel (or target-mask-location) marks "
          "the object, which is cut out on a neutral background for the image encoder. "
          "Applies from the next clip", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_TARGET_MASK_LOCATION,
      g_param_spec_string ("target-mask-location", "Target mask location",
          "Image file of the size of target-location whose white pixels mark the object, "
          "for target images without alpha (NULL = use the alpha channel). "
          "Applies from the next clip", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_INVERSION_STEPS,
      g_param_spec_uint ("inversion-steps", "Inversion steps",
          "DDIM inversion steps from the clip's latents to noise (the mask branches and "
          "latentcorrect follow the same schedule). Applies from the next clip",
          1, 1000, DEFAULT_INVERSION_STEPS, flags));
  g_object_class_install_property (gobject_class, PROP_GUIDANCE_SCALE,
      g_param_spec_double ("guidance-scale", "Guidance scale",
          "Classifier-free guidance scale of the source and target branches that give the "
          "masks (1 = no guidance). Applies from the next clip",
          1.0, 100.0, DEFAULT_GUIDANCE_SCALE, flags));
  g_object_class_install_property (gobject_class, PROP_MASK_THRESHOLD,
      g_param_spec_double ("mask-threshold", "Mask threshold",
          "Threshold on the normalised difference of the two branches: above it a latent "
          "pixel is edited (DiffEdit's rule is 0.5). Applies from the next clip",
          0.0, 1.0, DEFAULT_MASK_THRESHOLD, flags));
  g_object_class_install_property (gobject_class, PROP_MASK_DILATION,
      g_param_spec_uint ("mask-dilation", "Mask dilation",
          "Latent pixels (8 frame pixels each) by which the masks grow, to edit a margin "
          "around the object. Applies from the next clip",
          0, 64, DEFAULT_MASK_DILATION, flags));

  gst_element_class_set_static_metadata (element_class, "GenVideo inversion and masks",
      "Filter/Effect/Video",
      "Inverts each clip with DDIM and finds where the edit goes (InvEdit masks) for the "
      "GenVideo edit", "gst-genvideo authors");
}

static void
gst_inv_edit_init (GstInvEdit *self)
{
  self->inversion_steps = DEFAULT_INVERSION_STEPS;
  self->guidance_scale = DEFAULT_GUIDANCE_SCALE;
  self->mask_threshold = DEFAULT_MASK_THRESHOLD;
  self->mask_dilation = DEFAULT_MASK_DILATION;
}

/**
 * SECTION:element-invedit
 * @title: invedit
 * @short_description: DDIM inversion and InvEdit masks of each clip
 *
 * The second GenVideo stage. It inverts every frame of the clip to noise with DDIM
 * (#GstInvEdit:inversion-steps steps, no guidance) under the source conditions (the source
 * prompt and the unCLIP embedding of one source frame), then runs a source branch and a target
 * branch (#GstInvEdit:target-prompt and the object of the target image) side by side from the
 * inverted latents; where their noise predictions differ is where the edit goes: that gives a
 * mask per frame (DiffEdit's rule, extended to video and to targets of another shape). The
 * inverted latents, their trajectory and the masks travel downstream in the clip object for
 * latentcorrect. Without genvideotune upstream it encodes the clip itself, with the base model.
 *
 * The target image comes from #GstInvEdit:target-location (PNG, JPEG, anything decodebin
 * reads) or from the `target` request sink pad (a raw image buffer: the last one that came); its object is its alpha channel, or
 * the white of #GstInvEdit:target-mask-location. Set to output masks
 * (#GstInvEdit:output = masks), the element pushes GRAY8 frames of the masks instead of the
 * input frames; without a target of its own it then shows the masks an upstream invedit found.
 *
 * Masks found elsewhere (a rotoscoped matte, a keyer's output, a benchmark's ground truth) can
 * replace InvEdit's: a stream of them on the `mask` request sink pad (one picture per frame,
 * paired with the frames in order), or files named by #GstInvEdit:mask-location (numbered from
 * #GstInvEdit:mask-start-index in the order the frames come); a linked pad wins. White marks
 * what is edited (the object to replace, with a margin for the new one if it is larger); a
 * latent pixel is edited where any of its frame pixels is white. The source and target
 * branches are then not run (the target is still needed: latentcorrect draws it).
 *
 * After each clip an element message "genvideo-mask" gives the clip id, the latent size, the
 * share of each frame that is inside the mask (field "area", an array of doubles) and where
 * the masks come from (field "origin": "invedit", "given" or "upstream").
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m videotestsrc pattern=ball num-buffers=16 ! \
 *     video/x-raw,width=256,height=256 ! videoconvert ! \
 *     genvideotune source-prompt="a white ball" steps=0 ! \
 *     invedit target-prompt="a red apple" target-location=apple.png ! \
 *     latentcorrect ! videoconvert ! autovideosink
 * ]|
 */
#include "gstgenvideocompute.h"
#include "gstgenvideoelements.h"
#include "gstgenvideoimage.h"
#include "gstgenvideomasks.h"
#include "gstgenvideomessages.h"
#include "gstinvedit.h"

#include "genvideo/gv-target.h"

GST_DEBUG_CATEGORY_STATIC (gst_inv_edit_debug);
#define GST_CAT_DEFAULT gst_inv_edit_debug

#define DEFAULT_INVERSION_STEPS 50
#define DEFAULT_GUIDANCE_SCALE 0.0   /* the model's own */
#define DEFAULT_MASK_THRESHOLD 0.5
#define DEFAULT_MASK_DILATION 0
#define DEFAULT_OUTPUT GST_INV_EDIT_OUTPUT_FRAMES
#define DEFAULT_MASK_START_INDEX 0
/* DiffEdit clamps the difference at this multiple of its mean before normalising */
#define MASK_CLAMP_RATIO 3.0f

enum {
  PROP_0,
  PROP_TARGET_PROMPT,
  PROP_TARGET_LOCATION,
  PROP_TARGET_MASK_LOCATION,
  PROP_INVERSION_STEPS,
  PROP_GUIDANCE_SCALE,
  PROP_MASK_THRESHOLD,
  PROP_MASK_DILATION,
  PROP_OUTPUT,
  PROP_MASK_LOCATION,
  PROP_MASK_START_INDEX,
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
  GstInvEditOutput output;
  gchar *mask_location;
  guint mask_start_index;

  /* frames that came since the start, on the streaming task (mask-location's numbering) */
  guint64 frames_seen;

  /* the mask pad (its queue: gstgenvideomasks.h), under the object lock */
  GstPad *mask_pad;

  /* the target pad's image, under target_lock */
  GstPad *target_pad;
  GMutex target_lock;
  GCond target_cond;
  GstBuffer *target_buffer;
  GstCaps *target_caps;
  gboolean target_eos;
};

#define OUTPUT_FORMATS "{ RGBA, RGB, GRAY8 }"
#define SIZES "width = (int) [ 8, 2147483647 ], height = (int) [ 8, 2147483647 ], " \
  "framerate = (fraction) [ 0/1, 2147483647/1 ]"

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-raw, format = (string) " OUTPUT_FORMATS ", " SIZES));
/* a request pad: a bin made from a launch line would otherwise ghost it as its input */
static GstStaticPadTemplate target_template = GST_STATIC_PAD_TEMPLATE ("target",
    GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS ("video/x-raw"));
static GstStaticPadTemplate mask_template = GST_STATIC_PAD_TEMPLATE ("mask",
    GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS ("video/x-raw"));

G_DEFINE_TYPE_WITH_CODE (GstInvEdit, gst_inv_edit, GST_TYPE_GEN_VIDEO_CLIP_FILTER,
    GST_DEBUG_CATEGORY_INIT (gst_inv_edit_debug, "invedit", 0,
        "GenVideo inversion and InvEdit masks"));
GST_ELEMENT_REGISTER_DEFINE (invedit, "invedit", GST_RANK_NONE, GST_TYPE_INV_EDIT);

GType
gst_inv_edit_output_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_INV_EDIT_OUTPUT_FRAMES, "The input frames, unchanged", "frames" },
    { GST_INV_EDIT_OUTPUT_MASKS, "GRAY8 frames of the masks (white: edited)", "masks" },
    { 0, NULL, NULL }
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstInvEditOutput", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* --- the target pad: the last image that came, or EOS --- */

static GstFlowReturn
gst_inv_edit_target_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstInvEdit *self = GST_INV_EDIT (parent);
  g_mutex_lock (&self->target_lock);
  gst_buffer_replace (&self->target_buffer, buffer);
  g_cond_broadcast (&self->target_cond);
  g_mutex_unlock (&self->target_lock);
  gst_buffer_unref (buffer);
  return GST_FLOW_OK;
}

static gboolean
gst_inv_edit_target_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstInvEdit *self = GST_INV_EDIT (parent);
  g_mutex_lock (&self->target_lock);
  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps;
    gst_event_parse_caps (event, &caps);
    gst_caps_replace (&self->target_caps, caps);
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    self->target_eos = TRUE;
    g_cond_broadcast (&self->target_cond);
  }
  g_mutex_unlock (&self->target_lock);
  /* the image is kept, not passed on */
  gst_event_unref (event);
  return TRUE;
}

/* The target pad's image as RGBA, waiting for it when the pad is linked; NULL without error
 * when the pad is not linked. */
static guint8 *
target_from_pad (GstInvEdit *self, gint *width, gint *height, gint *stride, GError **error)
{
  const gint *cancel = gst_gen_video_clip_filter_get_cancel_flag (GST_GEN_VIDEO_CLIP_FILTER (self));
  GST_OBJECT_LOCK (self);
  gboolean linked = self->target_pad != NULL && gst_pad_is_linked (self->target_pad);
  GST_OBJECT_UNLOCK (self);
  if (!linked)
    return NULL;

  g_mutex_lock (&self->target_lock);
  while (self->target_buffer == NULL && !self->target_eos && !g_atomic_int_get (cancel)) {
    gint64 until = g_get_monotonic_time () + 100 * G_TIME_SPAN_MILLISECOND;
    g_cond_wait_until (&self->target_cond, &self->target_lock, until);
  }
  GstBuffer *buffer = self->target_buffer ? gst_buffer_ref (self->target_buffer) : NULL;
  GstCaps *caps = self->target_caps ? gst_caps_ref (self->target_caps) : NULL;
  g_mutex_unlock (&self->target_lock);

  guint8 *pixels = NULL;
  if (buffer == NULL || caps == NULL) {
    if (!g_atomic_int_get (cancel))
      g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
          "the target pad ended without an image");
  } else {
    pixels = gst_gen_video_convert_image (buffer, caps, GST_VIDEO_FORMAT_RGBA, width, height,
        stride, error);
  }
  if (buffer)
    gst_buffer_unref (buffer);
  if (caps)
    gst_caps_unref (caps);
  return pixels;
}

/* --- the stage --- */

typedef struct {
  gchar *prompt, *location, *mask_location;
  GvMaskParams mask;
  GstInvEditOutput output;
  gchar *given_masks;          /* mask-location */
  guint64 first_mask;          /* its number for the clip's first frame */
  GstPad *mask_pad;            /* the mask pad (a reference) when it is linked */
} Settings;

static void
read_settings (GstInvEdit *self, Settings *s)
{
  GST_OBJECT_LOCK (self);
  s->prompt = g_strdup (self->target_prompt);
  s->location = g_strdup (self->target_location);
  s->mask_location = g_strdup (self->target_mask_location);
  s->mask = (GvMaskParams) {
    .steps = (gint) self->inversion_steps,
    .guidance_scale = (gfloat) self->guidance_scale,
    .threshold = (gfloat) self->mask_threshold,
    .clamp_ratio = MASK_CLAMP_RATIO,
    .dilation = (gint) self->mask_dilation,
  };
  s->output = self->output;
  s->given_masks = g_strdup (self->mask_location);
  s->first_mask = self->mask_start_index + self->frames_seen;
  s->mask_pad = self->mask_pad != NULL && gst_pad_is_linked (self->mask_pad) ?
      gst_object_ref (self->mask_pad) : NULL;
  GST_OBJECT_UNLOCK (self);
}

static void
clear_settings (Settings *s)
{
  g_free (s->prompt);
  g_free (s->location);
  g_free (s->mask_location);
  g_free (s->given_masks);
  gst_clear_object (&s->mask_pad);
}

/* The target object on grey, as RGB; NULL after posting an error. */
static guint8 *
load_target (GstInvEdit *self, const Settings *s, gint *width, gint *height)
{
  GError *error = NULL;
  gint stride = 0, mw = 0, mh = 0, mstride = 0;
  guint8 *rgba = target_from_pad (self, width, height, &stride, &error);
  const gchar *source = "the target pad";

  if (rgba == NULL && error == NULL) {
    source = s->location;
    if (s->location == NULL) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("No target image: set target-location or link the target pad."), (NULL));
      return NULL;
    }
    rgba = gst_gen_video_load_image (s->location, GST_VIDEO_FORMAT_RGBA, width, height,
        &stride, &error);
  }
  if (rgba == NULL) {
    if (error && error->domain == G_FILE_ERROR)
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("Target image not found."),
          ("%s", error->message));
    else if (error)
      GST_ELEMENT_ERROR (self, STREAM, DECODE, ("The target image could not be read."),
          ("%s: %s", source, error->message));
    g_clear_error (&error);
    return NULL;
  }

  guint8 *mask = NULL;
  if (s->mask_location != NULL) {
    mask = gst_gen_video_load_image (s->mask_location, GST_VIDEO_FORMAT_GRAY8, &mw, &mh,
        &mstride, &error);
    if (mask == NULL) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("The target mask could not be read."),
          ("%s", error->message));
      g_clear_error (&error);
      g_free (rgba);
      return NULL;
    }
    if (mw != *width || mh != *height) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("The target mask is %dx%d but the target image %dx%d: they must be the same size.",
              mw, mh, *width, *height), ("%s, %s", source, s->mask_location));
      g_free (mask);
      g_free (rgba);
      return NULL;
    }
  }
  gdouble coverage = 0;
  guint8 *rgb = gv_target_foreground (rgba, *width, *height, stride, mask, mstride, &coverage,
      &error);
  g_free (mask);
  g_free (rgba);
  if (rgb == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("The target image has no object: %s.",
            error->message), ("%s", s->mask_location ? s->mask_location : source));
    g_clear_error (&error);
    return NULL;
  }
  GST_DEBUG_OBJECT (self, "target %dx%d, object on %.1f%% of it", *width, *height,
      100 * coverage);
  return rgb;
}

static void
post_mask_message (GstInvEdit *self, GvClip *clip, guint frames, const gchar *origin)
{
  gdouble *area = g_new (gdouble, frames);
  GValue list = G_VALUE_INIT, v = G_VALUE_INIT;

  gv_edit_get_masks (clip, area);
  gst_value_array_init (&list, frames);
  g_value_init (&v, G_TYPE_DOUBLE);
  for (guint i = 0; i < frames; i++) {
    g_value_set_double (&v, area[i]);
    gst_value_array_append_value (&list, &v);
  }
  GstStructure *s = gst_structure_new (GST_GEN_VIDEO_MESSAGE_MASK,
      GST_GEN_VIDEO_FIELD_CLIP_ID, G_TYPE_UINT64, gv_clip_get_id (clip),
      GST_GEN_VIDEO_FIELD_FRAMES, G_TYPE_UINT, frames,
      GST_GEN_VIDEO_FIELD_WIDTH, G_TYPE_INT, gv_edit_get_latent_width (clip),
      GST_GEN_VIDEO_FIELD_HEIGHT, G_TYPE_INT, gv_edit_get_latent_height (clip),
      GST_GEN_VIDEO_FIELD_ORIGIN, G_TYPE_STRING, origin, NULL);
  gst_structure_take_value (s, GST_GEN_VIDEO_FIELD_AREA, &list);
  g_value_unset (&v);
  g_free (area);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* Replaces the frames by GRAY8 pictures of the masks (nearest upsampling, white inside). */
static GstFlowReturn
replace_by_masks (GstInvEdit *self, GstGenVideoClipJob *job)
{
  GstVideoInfo info;
  gint w = GST_VIDEO_INFO_WIDTH (&job->info), h = GST_VIDEO_INFO_HEIGHT (&job->info);
  gint lw = gv_edit_get_latent_width (job->clip), lh = gv_edit_get_latent_height (job->clip);
  const gfloat *masks = gv_edit_get_masks (job->clip, NULL);

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_GRAY8, w, h);
  for (guint i = 0; i < job->n_frames; i++) {
    GstBuffer *out = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
    GstVideoFrame frame;
    if (!gst_video_frame_map (&frame, &info, out, GST_MAP_WRITE)) {
      gst_buffer_unref (out);
      GST_ELEMENT_ERROR (self, RESOURCE, FAILED, ("A mask frame could not be written."),
          (NULL));
      return GST_FLOW_ERROR;
    }
    const gfloat *m = masks + (gsize) i * lw * lh;
    for (gint y = 0; y < h; y++) {
      guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
          (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
      const gfloat *mrow = m + (gsize) (y * lh / h) * lw;
      for (gint x = 0; x < w; x++)
        row[x] = mrow[x * lw / w] > 0.5f ? 255 : 0;
    }
    gst_video_frame_unmap (&frame);
    gst_buffer_unref (job->frames[i]);
    job->frames[i] = out;
  }
  return GST_FLOW_OK;
}

/* The masks given for the clip's frames: the mask pad's pictures when it is linked, else
 * mask-location's; NULL with *@ret GST_FLOW_OK when none are given, else after posting an
 * error (or on a stop) into *@ret */
static guint8 *
given_masks (GstInvEdit *self, GstGenVideoClipJob *job, const Settings *s, GstFlowReturn *ret)
{
  GstGenVideoClipFilter *filter = GST_GEN_VIDEO_CLIP_FILTER (self);
  gint width = GST_VIDEO_INFO_WIDTH (&job->info), height = GST_VIDEO_INFO_HEIGHT (&job->info);
  GError *error = NULL;
  guint8 *masks = NULL;

  *ret = GST_FLOW_OK;
  if (s->mask_pad != NULL)
    masks = gst_gen_video_mask_pad_take (s->mask_pad, job->n_frames, width, height,
        gst_gen_video_clip_filter_get_cancel_flag (filter), &error);
  else if (s->given_masks != NULL)
    masks = gst_gen_video_masks_from_files (s->given_masks, s->first_mask, job->n_frames,
        width, height, &error);
  else
    return NULL;
  if (masks == NULL && error != NULL)
    *ret = gst_gen_video_post_error (filter, "Reading the given masks", error);
  else if (masks == NULL)
    *ret = GST_FLOW_FLUSHING;
  else
    GST_DEBUG_OBJECT (self, "masks of %u frames from %s", job->n_frames,
        s->mask_pad ? "the mask pad" : s->given_masks);
  return masks;
}

/* The target, the inversion (when @invert) and the masks: InvEdit's, or the given ones,
 * which are read first so that a missing file stops the clip before the work. */
static GstFlowReturn
find_masks (GstInvEdit *self, GstGenVideoClipJob *job, const Settings *s, gboolean invert)
{
  GstGenVideoClipFilter *filter = GST_GEN_VIDEO_CLIP_FILTER (self);
  GError *error = NULL;
  gint width, height;
  guint8 *target = NULL;
  GstFlowReturn ret;

  guint8 *given = given_masks (self, job, s, &ret);
  if (ret != GST_FLOW_OK)
    return ret;
  if (invert && (target = load_target (self, s, &width, &height)) == NULL) {
    g_free (given);
    return GST_FLOW_ERROR;
  }
  GvEditEnv env;
  gst_gen_video_edit_env (filter, &env);
  gboolean ok = !invert || (gv_edit_set_target (job->clip, &env, s->prompt, target, width,
          height, width * 3, &error) &&
      gv_edit_invert (job->clip, &env, s->mask.steps, &error));
  if (ok && given != NULL)
    ok = gv_edit_set_pixel_masks (job->clip, &env, given, GST_VIDEO_INFO_WIDTH (&job->info),
        GST_VIDEO_INFO_HEIGHT (&job->info), GST_VIDEO_INFO_WIDTH (&job->info), &error);
  else if (ok)
    ok = gv_edit_compute_masks (job->clip, &env, &s->mask, &error);
  g_free (target);
  g_free (given);
  if (!ok)
    return gst_gen_video_post_error (filter, "Finding the masks", error);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_inv_edit_process_clip (GstGenVideoClipFilter *filter, GstGenVideoClipJob *job)
{
  GstInvEdit *self = GST_INV_EDIT (filter);
  GstFlowReturn ret;
  Settings s;

  read_settings (self, &s);
  /* latentcorrect conditions its target branch on it */
  if (s.prompt)
    gv_clip_set_prompt (job->clip, GV_CLIP_PROMPT_TARGET, s.prompt);
  GST_DEBUG_OBJECT (self, "clip %" G_GUINT64_FORMAT ": %u frames, target prompt \"%s\"",
      gv_clip_get_id (job->clip), job->n_frames, GST_STR_NULL (s.prompt));

  GST_OBJECT_LOCK (self);
  self->frames_seen += job->n_frames;
  GST_OBJECT_UNLOCK (self);
  if (!gst_gen_video_ensure_source (filter, job, &ret))
    goto out;
  /* without a target of its own, an invedit after another one shows that one's masks (or
   * replaces them by mask-location's) */
  GST_OBJECT_LOCK (self);
  gboolean own_target = s.location != NULL ||
      (self->target_pad != NULL && gst_pad_is_linked (self->target_pad));
  GST_OBJECT_UNLOCK (self);
  gboolean invert = own_target || !gv_edit_has_masks (job->clip);
  gboolean given = s.given_masks != NULL || s.mask_pad != NULL;
  if (invert || given) {
    ret = find_masks (self, job, &s, invert);
    if (ret != GST_FLOW_OK)
      goto out;
  }
  post_mask_message (self, job->clip, job->n_frames, given ? GST_GEN_VIDEO_MASKS_GIVEN :
      invert ? GST_GEN_VIDEO_MASKS_INVEDIT : GST_GEN_VIDEO_MASKS_UPSTREAM);
  if (s.output == GST_INV_EDIT_OUTPUT_MASKS)
    ret = replace_by_masks (self, job);

out:
  clear_settings (&s);
  return ret;
}

static GstCaps *
gst_inv_edit_output_caps (GstGenVideoClipFilter *filter, GstCaps *input_caps)
{
  GstInvEdit *self = GST_INV_EDIT (filter);
  GST_OBJECT_LOCK (self);
  gboolean masks = self->output == GST_INV_EDIT_OUTPUT_MASKS;
  GST_OBJECT_UNLOCK (self);
  if (!masks)
    return NULL;
  GstCaps *out = gst_caps_copy (input_caps);
  for (guint i = 0; i < gst_caps_get_size (out); i++)
    gst_structure_set (gst_caps_get_structure (out, i), "format", G_TYPE_STRING, "GRAY8", NULL);
  return out;
}

static GstPad *
gst_inv_edit_request_new_pad (GstElement *element, GstPadTemplate *templ, const gchar *name,
    const GstCaps *caps)
{
  GstInvEdit *self = GST_INV_EDIT (element);
  gboolean mask = g_str_equal (GST_PAD_TEMPLATE_NAME_TEMPLATE (templ), "mask");
  GstPad **slot = mask ? &self->mask_pad : &self->target_pad;

  GST_OBJECT_LOCK (self);
  gboolean exists = *slot != NULL;
  GST_OBJECT_UNLOCK (self);
  if (exists) {
    GST_WARNING_OBJECT (self, "there is one %s pad at most", mask ? "mask" : "target");
    return NULL;
  }
  GstPad *pad = gst_pad_new_from_template (templ, mask ? "mask" : "target");
  if (mask) {
    gst_gen_video_mask_pad_setup (pad);
  } else {
    gst_pad_set_chain_function (pad, gst_inv_edit_target_chain);
    gst_pad_set_event_function (pad, gst_inv_edit_target_event);
  }
  gst_pad_set_active (pad, TRUE);
  GST_OBJECT_LOCK (self);
  *slot = pad;
  GST_OBJECT_UNLOCK (self);
  gst_element_add_pad (element, pad);
  return pad;
}

static void
gst_inv_edit_release_pad (GstElement *element, GstPad *pad)
{
  GstInvEdit *self = GST_INV_EDIT (element);

  GST_OBJECT_LOCK (self);
  if (self->target_pad == pad)
    self->target_pad = NULL;
  if (self->mask_pad == pad)
    self->mask_pad = NULL;
  GST_OBJECT_UNLOCK (self);
  gst_element_remove_pad (element, pad);
}

static GstStateChangeReturn
gst_inv_edit_change_state (GstElement *element, GstStateChange transition)
{
  GstInvEdit *self = GST_INV_EDIT (element);

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    g_mutex_lock (&self->target_lock);
    self->target_eos = FALSE;
    gst_buffer_replace (&self->target_buffer, NULL);
    g_mutex_unlock (&self->target_lock);
    GST_OBJECT_LOCK (self);
    self->frames_seen = 0;
    GstPad *mask_pad = self->mask_pad ? gst_object_ref (self->mask_pad) : NULL;
    GST_OBJECT_UNLOCK (self);
    if (mask_pad) {
      gst_gen_video_mask_pad_reset (mask_pad);
      gst_object_unref (mask_pad);
    }
  }
  return GST_ELEMENT_CLASS (gst_inv_edit_parent_class)->change_state (element, transition);
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
    case PROP_OUTPUT:
      self->output = g_value_get_enum (value);
      break;
    case PROP_MASK_LOCATION:
      g_free (self->mask_location);
      self->mask_location = g_value_dup_string (value);
      break;
    case PROP_MASK_START_INDEX:
      self->mask_start_index = g_value_get_uint (value);
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
    case PROP_OUTPUT:
      g_value_set_enum (value, self->output);
      break;
    case PROP_MASK_LOCATION:
      g_value_set_string (value, self->mask_location);
      break;
    case PROP_MASK_START_INDEX:
      g_value_set_uint (value, self->mask_start_index);
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
  g_free (self->mask_location);
  gst_buffer_replace (&self->target_buffer, NULL);
  gst_caps_replace (&self->target_caps, NULL);
  g_mutex_clear (&self->target_lock);
  g_cond_clear (&self->target_cond);
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
  element_class->change_state = gst_inv_edit_change_state;
  element_class->request_new_pad = gst_inv_edit_request_new_pad;
  element_class->release_pad = gst_inv_edit_release_pad;
  GST_GEN_VIDEO_CLIP_FILTER_CLASS (klass)->process_clip = gst_inv_edit_process_clip;
  GST_GEN_VIDEO_CLIP_FILTER_CLASS (klass)->output_caps = gst_inv_edit_output_caps;

  /* all apply from the next clip */
  g_object_class_install_property (gobject_class, PROP_TARGET_PROMPT,
      g_param_spec_string ("target-prompt", "Target prompt",
          "Text that describes the edited video, e.g. \"a red cadillac on a road\". "
          "Applies from the next clip", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_TARGET_LOCATION,
      g_param_spec_string ("target-location", "Target image location",
          "Image file of the new object (PNG, JPEG, ...): its alpha channel (or "
          "target-mask-location) marks the object, which is put on a neutral grey for the "
          "image encoder. A linked target pad wins. Applies from the next clip",
          NULL, flags));
  g_object_class_install_property (gobject_class, PROP_TARGET_MASK_LOCATION,
      g_param_spec_string ("target-mask-location", "Target mask location",
          "Image file of the size of the target image whose white pixels mark the object, "
          "for target images without alpha (NULL = use the alpha channel). "
          "Applies from the next clip", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_INVERSION_STEPS,
      g_param_spec_uint ("inversion-steps", "Inversion steps",
          "DDIM inversion steps from the clip's latents to noise; the mask branches follow the "
          "same schedule (give latentcorrect as many steps to reuse the trajectory exactly). "
          "Applies from the next clip", 1, 1000, DEFAULT_INVERSION_STEPS, flags));
  g_object_class_install_property (gobject_class, PROP_GUIDANCE_SCALE,
      g_param_spec_double ("guidance-scale", "Guidance scale",
          "Classifier-free guidance scale of the source and target branches that give the "
          "masks (1 or less = no guidance; 0 = the model's own: guidance_scale of "
          "generation_config.json in its folder, else 7.5). Applies from the next clip",
          0.0, 100.0, DEFAULT_GUIDANCE_SCALE, flags));
  g_object_class_install_property (gobject_class, PROP_MASK_THRESHOLD,
      g_param_spec_double ("mask-threshold", "Mask threshold",
          "Threshold on the normalised difference of the two branches: above it a latent "
          "pixel is edited (DiffEdit's rule is 0.5). Applies from the next clip",
          0.0, 1.0, DEFAULT_MASK_THRESHOLD, flags));
  g_object_class_install_property (gobject_class, PROP_MASK_DILATION,
      g_param_spec_uint ("mask-dilation", "Mask dilation",
          "Latent pixels (8 frame pixels each with SD's VAE) by which the masks grow, to edit "
          "a margin around the object. Applies from the next clip",
          0, 64, DEFAULT_MASK_DILATION, flags));
  g_object_class_install_property (gobject_class, PROP_MASK_LOCATION,
      g_param_spec_string ("mask-location", "Mask location",
          "Pictures of the masks to use instead of InvEdit's, one per frame of the frames' "
          "size, named by a pattern with the frame's number (\"masks/%04d.png\"; PNG, JPEG, "
          "...): white (above mid-grey) marks what is edited. The frames are numbered in "
          "the order they come, from mask-start-index at the first frame after the element "
          "starts (a seek does not renumber them). NULL = InvEdit's masks; a linked mask "
          "pad wins. Applies from the next clip", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_MASK_START_INDEX,
      g_param_spec_uint ("mask-start-index", "Mask start index",
          "Number of the first frame's picture in mask-location (multifilesrc's start-index)",
          0, G_MAXUINT, DEFAULT_MASK_START_INDEX, flags));
  g_object_class_install_property (gobject_class, PROP_OUTPUT,
      g_param_spec_enum ("output", "Output",
          "What leaves the element: the input frames (for latentcorrect), or GRAY8 pictures "
          "of the masks (to view them or feed other tools); the caps follow",
          GST_TYPE_INV_EDIT_OUTPUT, DEFAULT_OUTPUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_add_static_pad_template (element_class, &target_template);
  gst_element_class_add_static_pad_template (element_class, &mask_template);
  gst_element_class_set_static_metadata (element_class, "GenVideo inversion and masks",
      "Filter/Effect/Video",
      "Inverts each clip with DDIM and finds where the edit goes (InvEdit masks) for the "
      "GenVideo edit", GST_GEN_VIDEO_AUTHOR);
  gst_type_mark_as_plugin_api (GST_TYPE_INV_EDIT_OUTPUT, 0);
}

static void
gst_inv_edit_init (GstInvEdit *self)
{
  self->inversion_steps = DEFAULT_INVERSION_STEPS;
  self->guidance_scale = DEFAULT_GUIDANCE_SCALE;
  self->mask_threshold = DEFAULT_MASK_THRESHOLD;
  self->mask_dilation = DEFAULT_MASK_DILATION;
  self->output = DEFAULT_OUTPUT;
  self->mask_start_index = DEFAULT_MASK_START_INDEX;
  g_mutex_init (&self->target_lock);
  g_cond_init (&self->target_cond);
}

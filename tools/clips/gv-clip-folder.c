#include <errno.h>
#include <string.h>

#include "gv-clip-folder.h"
#include "gv-png.h"

G_DEFINE_QUARK (gv-clip-folder-error-quark, gv_clip_folder_error)

/* the frame folders, with the channels of their images */
static const struct {
  const gchar *dir;
  gint channels;
  gsize offset;
} planes[] = {
  { "frames", 3, G_STRUCT_OFFSET (GvClipFolder, source) },
  { "masks", 1, G_STRUCT_OFFSET (GvClipFolder, masks) },
  { "edit", 3, G_STRUCT_OFFSET (GvClipFolder, edit) },
  { "edit-masks", 1, G_STRUCT_OFFSET (GvClipFolder, edit_masks) },
};

static const gchar *const required_keys[] = {
  "source_prompt", "target_prompt", "fps", "width", "height", "frames", NULL
};

/* the largest clip the reader accepts, so that a wrong clip.json cannot ask for terabytes */
#define MAX_SIDE 16384
#define MAX_FRAMES 100000

#define PLANE(clip, i) (*(guint8 **) ((guint8 *) (clip) + planes[i].offset))

GvClipFolder *
gv_clip_folder_new (gint width, gint height, gint frames, gint target_width, gint target_height)
{
  GvClipFolder *clip = g_new0 (GvClipFolder, 1);
  clip->fps = 8;
  clip->width = width;
  clip->height = height;
  clip->frames = frames;
  clip->target_width = target_width;
  clip->target_height = target_height;
  for (guint i = 0; i < G_N_ELEMENTS (planes); i++)
    PLANE (clip, i) = g_new0 (guint8, (gsize) width * height * frames * planes[i].channels);
  clip->target = g_new0 (guint8, (gsize) target_width * target_height * 4);
  clip->extra = json_object_new ();
  return clip;
}

void
gv_clip_folder_free (GvClipFolder *clip)
{
  if (clip == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (planes); i++)
    g_free (PLANE (clip, i));
  g_free (clip->target);
  g_free (clip->source_prompt);
  g_free (clip->target_prompt);
  if (clip->extra)
    json_object_unref (clip->extra);
  g_free (clip);
}

/* ---- reading ---- */

static gboolean
is_required (const gchar *key)
{
  return g_strv_contains (required_keys, key);
}

static gboolean
read_int (JsonObject *obj, const gchar *path, const gchar *key, gint max, gint *out,
    GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64 ||
      json_node_get_int (node) < 1 || json_node_get_int (node) > max) {
    gchar *text = node ? json_to_string (node, FALSE) : NULL;
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_INVALID,
        "%s: \"%s\" is %s; it must be an integer from 1 to %d", path, key,
        node ? text : "missing", max);
    g_free (text);
    return FALSE;
  }
  *out = json_node_get_int (node);
  return TRUE;
}

static gchar *
read_prompt (JsonObject *obj, const gchar *path, const gchar *key, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING || !*json_node_get_string (node)) {
    gchar *text = node ? json_to_string (node, FALSE) : NULL;
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_INVALID,
        "%s: \"%s\" is %s; it must be a non-empty string", path, key,
        node ? text : "missing");
    g_free (text);
    return NULL;
  }
  return g_strdup (json_node_get_string (node));
}

static gboolean
read_fps (JsonObject *obj, const gchar *path, gdouble *fps, GError **error)
{
  JsonNode *node = json_object_get_member (obj, "fps");
  GType type = node && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : 0;
  if (type == G_TYPE_INT64 || type == G_TYPE_DOUBLE)
    *fps = json_node_get_double (node);
  if ((type != G_TYPE_INT64 && type != G_TYPE_DOUBLE) || !(*fps > 0 && *fps <= 1000)) {
    gchar *text = node ? json_to_string (node, FALSE) : NULL;
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_INVALID,
        "%s: \"fps\" is %s; it must be a number above 0 and at most 1000 (frames per second)",
        path, node ? text : "missing");
    g_free (text);
    return FALSE;
  }
  return TRUE;
}

static JsonObject *
read_json (const gchar *path, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_MISSING,
        "%s is missing: not a clip folder (see docs/benchmark.md)", path);
    return NULL;
  }
  JsonParser *parser = json_parser_new ();
  GError *err = NULL;
  JsonObject *obj = NULL;
  if (!json_parser_load_from_file (parser, path, &err))
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_INVALID,
        "%s: not valid JSON: %s", path, err->message);
  else if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_INVALID,
        "%s: the top level must be a JSON object", path);
  else
    obj = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
  g_clear_error (&err);
  g_object_unref (parser);
  return obj;
}

/* Reads @path into @out, which holds exactly @width x @height pixels. */
static gboolean
read_image (const gchar *path, gint channels, gint width, gint height, guint8 *out,
    GError **error)
{
  GError *err = NULL;
  gint w = 0, h = 0;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_MISSING,
        "%s is missing (clip.json says how many frames there are; see docs/benchmark.md)",
        path);
    return FALSE;
  }
  guint8 *pixels = gv_png_read (path, channels, &w, &h, &err);
  if (pixels == NULL) {
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_IO, "%s", err->message);
    g_error_free (err);
    return FALSE;
  }
  gboolean ok = w == width && h == height;
  if (ok)
    memcpy (out, pixels, (gsize) w * h * channels);
  else
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_INVALID,
        "%s is %dx%d; clip.json says %dx%d", path, w, h, width, height);
  g_free (pixels);
  return ok;
}

/* target.png may have any size */
static guint8 *
read_target (const gchar *path, gint *width, gint *height, GError **error)
{
  GError *err = NULL;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_MISSING,
        "%s is missing (the target object image; see docs/benchmark.md)", path);
    return NULL;
  }
  guint8 *pixels = gv_png_read (path, 4, width, height, &err);
  if (pixels == NULL) {
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_IO, "%s", err->message);
    g_error_free (err);
  }
  return pixels;
}

static gchar *
frame_path (const gchar *dir, const gchar *sub, gint frame)
{
  gchar name[32];
  g_snprintf (name, sizeof name, "%04d.png", frame);
  return g_build_filename (dir, sub, name, NULL);
}

GvClipFolder *
gv_clip_folder_read (const gchar *dir, GError **error)
{
  gchar *json_path = g_build_filename (dir, "clip.json", NULL);
  JsonObject *obj = read_json (json_path, error);
  GvClipFolder *clip = NULL;
  gint width = 0, height = 0, frames = 0, tw = 0, th = 0;
  gdouble fps = 0;
  gchar *source_prompt = NULL, *target_prompt = NULL;
  guint8 *target = NULL;

  gboolean ok = obj != NULL &&
      (source_prompt = read_prompt (obj, json_path, "source_prompt", error)) != NULL &&
      (target_prompt = read_prompt (obj, json_path, "target_prompt", error)) != NULL &&
      read_fps (obj, json_path, &fps, error) &&
      read_int (obj, json_path, "width", MAX_SIDE, &width, error) &&
      read_int (obj, json_path, "height", MAX_SIDE, &height, error) &&
      read_int (obj, json_path, "frames", MAX_FRAMES, &frames, error);
  if (ok) {
    gchar *target_path = g_build_filename (dir, "target.png", NULL);
    target = read_target (target_path, &tw, &th, error);
    ok = target != NULL;
    g_free (target_path);
  }
  if (ok) {
    clip = gv_clip_folder_new (width, height, frames, tw, th);
    memcpy (clip->target, target, (gsize) tw * th * 4);
    clip->fps = fps;
    clip->source_prompt = g_steal_pointer (&source_prompt);
    clip->target_prompt = g_steal_pointer (&target_prompt);
    /* the extras, in file order */
    GList *members = json_object_get_members (obj);
    for (GList *l = members; l; l = l->next)
      if (!is_required (l->data))
        json_object_set_member (clip->extra, l->data,
            json_node_copy (json_object_get_member (obj, l->data)));
    g_list_free (members);
  }
  gsize n = (gsize) width * height;
  for (guint i = 0; ok && i < G_N_ELEMENTS (planes); i++)
    for (gint f = 0; ok && f < frames; f++) {
      gchar *path = frame_path (dir, planes[i].dir, f);
      ok = read_image (path, planes[i].channels, width, height,
          PLANE (clip, i) + n * planes[i].channels * f, error);
      g_free (path);
    }
  if (!ok)
    g_clear_pointer (&clip, gv_clip_folder_free);

  g_free (target);
  g_free (source_prompt);
  g_free (target_prompt);
  if (obj)
    json_object_unref (obj);
  g_free (json_path);
  return clip;
}

/* ---- writing ---- */

static gboolean
write_json (const GvClipFolder *clip, const gchar *path, GError **error)
{
  JsonObject *obj = json_object_new ();
  json_object_set_string_member (obj, "source_prompt", clip->source_prompt);
  json_object_set_string_member (obj, "target_prompt", clip->target_prompt);
  /* a whole rate as an integer, so that readers which expect one are not surprised */
  if (clip->fps == (gint64) clip->fps)
    json_object_set_int_member (obj, "fps", (gint64) clip->fps);
  else
    json_object_set_double_member (obj, "fps", clip->fps);
  json_object_set_int_member (obj, "width", clip->width);
  json_object_set_int_member (obj, "height", clip->height);
  json_object_set_int_member (obj, "frames", clip->frames);
  GList *members = clip->extra ? json_object_get_members (clip->extra) : NULL;
  for (GList *l = members; l; l = l->next)
    if (!is_required (l->data))
      json_object_set_member (obj, l->data,
          json_node_copy (json_object_get_member (clip->extra, l->data)));
  g_list_free (members);

  JsonNode *root = json_node_init_object (json_node_alloc (), obj);
  JsonGenerator *gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  gchar *text = json_generator_to_data (gen, NULL);
  gchar *with_newline = g_strconcat (text, "\n", NULL);
  GError *err = NULL;
  gboolean ok = g_file_set_contents (path, with_newline, -1, &err);
  if (!ok) {
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_IO, "%s", err->message);
    g_error_free (err);
  }
  g_free (with_newline);
  g_free (text);
  g_object_unref (gen);
  json_node_unref (root);
  json_object_unref (obj);
  return ok;
}

static gboolean
write_image (const gchar *path, const guint8 *pixels, gint width, gint height, gint channels,
    GError **error)
{
  GError *err = NULL;
  if (gv_png_write (path, pixels, width, height, channels, &err))
    return TRUE;
  g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_IO, "%s", err->message);
  g_error_free (err);
  return FALSE;
}

gboolean
gv_clip_folder_write (const GvClipFolder *clip, const gchar *dir, GError **error)
{
  g_return_val_if_fail (clip->source_prompt != NULL && clip->target_prompt != NULL, FALSE);
  gsize n = (gsize) clip->width * clip->height;

  for (guint i = 0; i < G_N_ELEMENTS (planes); i++) {
    gchar *sub = g_build_filename (dir, planes[i].dir, NULL);
    gint r = g_mkdir_with_parents (sub, 0755);
    if (r != 0)
      g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_IO,
          "%s: cannot make the folder: %s", sub, g_strerror (errno));
    g_free (sub);
    if (r != 0)
      return FALSE;
  }
  gchar *json_path = g_build_filename (dir, "clip.json", NULL);
  gchar *target_path = g_build_filename (dir, "target.png", NULL);
  gboolean ok = write_json (clip, json_path, error) &&
      write_image (target_path, clip->target, clip->target_width, clip->target_height, 4, error);
  g_free (target_path);
  g_free (json_path);

  for (guint i = 0; ok && i < G_N_ELEMENTS (planes); i++)
    for (gint f = 0; ok && f < clip->frames; f++) {
      gchar *path = frame_path (dir, planes[i].dir, f);
      ok = write_image (path, PLANE (clip, i) + n * planes[i].channels * f, clip->width,
          clip->height, planes[i].channels, error);
      g_free (path);
    }
  return ok;
}

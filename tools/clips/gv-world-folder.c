#include "gv-world-folder.h"
#include "gv-world-render.h"

static JsonObject *
object_json (const GvWorldObject *object)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "object", gv_world_shape_name (object->shape));
  json_object_set_string_member (o, "colour", gv_world_colour_name (object->colour));
  return o;
}

static JsonObject *
background_json (const GvWorldBackground *bg)
{
  JsonObject *o = json_object_new ();
  JsonArray *colours = json_array_new ();
  json_object_set_string_member (o, "kind", gv_world_background_name (bg->kind));
  json_array_add_string_element (colours, gv_world_colour_name (bg->colours[0]));
  if (bg->kind != GV_WORLD_FLAT)
    json_array_add_string_element (colours, gv_world_colour_name (bg->colours[1]));
  json_object_set_array_member (o, "colours", colours);
  if (bg->divisions > 0)
    json_object_set_int_member (o, "divisions", bg->divisions);
  return o;
}

GvClipFolder *
gv_world_clip_folder (const GvWorldClip *clip, gdouble fps)
{
  GvWorldRender *r = gv_world_render (clip);
  GvClipFolder *folder = g_new0 (GvClipFolder, 1);

  folder->source_prompt = g_steal_pointer (&r->source_prompt);
  folder->target_prompt = g_steal_pointer (&r->target_prompt);
  folder->fps = fps;
  folder->width = folder->target_width = r->width;
  folder->height = folder->target_height = r->height;
  folder->frames = r->frames;
  folder->source = g_steal_pointer (&r->source);
  folder->masks = g_steal_pointer (&r->masks);
  folder->edit = g_steal_pointer (&r->edit);
  folder->edit_masks = g_steal_pointer (&r->edit_masks);
  folder->target = g_steal_pointer (&r->target);
  gv_world_render_free (r);

  JsonObject *x = folder->extra = json_object_new ();
  json_object_set_string_member (x, "generator", "gv-make-clips");
  json_object_set_int_member (x, "seed", (gint64) clip->seed);
  json_object_set_int_member (x, "index", clip->index);
  json_object_set_object_member (x, "source", object_json (&clip->source));
  json_object_set_object_member (x, "target", object_json (&clip->target));
  json_object_set_object_member (x, "background", background_json (&clip->background));
  json_object_set_string_member (x, "masks", "coverage");
  json_object_set_string_member (x, "edit_masks", "binary");
  JsonArray *path = json_array_new ();
  for (gint f = 0; f < clip->frames; f++) {
    JsonObject *p = json_object_new ();
    json_object_set_double_member (p, "x", clip->path[f].x);
    json_object_set_double_member (p, "y", clip->path[f].y);
    json_object_set_double_member (p, "size", clip->path[f].size);
    json_array_add_object_element (path, p);
  }
  json_object_set_array_member (x, "trajectory", path);
  return folder;
}

/* a number member of @o (JSON writes whole doubles like 12.0, but others may write 12) */
static gboolean
number (JsonObject *o, const gchar *key, gdouble *out)
{
  JsonNode *n = o ? json_object_get_member (o, key) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || (json_node_get_value_type (n) != G_TYPE_DOUBLE
          && json_node_get_value_type (n) != G_TYPE_INT64))
    return FALSE;
  *out = json_node_get_double (n);
  return TRUE;
}

GvWorldPlace *
gv_world_folder_path (const GvClipFolder *clip, GError **error)
{
  JsonNode *node = json_object_get_member (clip->extra, "trajectory");
  JsonArray *a = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  if (a == NULL || json_array_get_length (a) != (guint) clip->frames) {
    g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_INVALID,
        "clip.json: \"trajectory\" is %s; it must be a list of %d {x, y, size}",
        a ? "of another length" : "missing or not a list", clip->frames);
    return NULL;
  }
  GvWorldPlace *places = g_new (GvWorldPlace, clip->frames);
  for (gint f = 0; f < clip->frames; f++) {
    JsonNode *e = json_array_get_element (a, f);
    JsonObject *o = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
    if (!number (o, "x", &places[f].x) || !number (o, "y", &places[f].y) ||
        !number (o, "size", &places[f].size)) {
      g_set_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_INVALID,
          "clip.json: \"trajectory\" entry %d must be {\"x\": number, \"y\": number, "
          "\"size\": number}", f);
      g_free (places);
      return NULL;
    }
  }
  return places;
}

/* World clips as clip folders: the rendered clip with its scene in clip.json's extras
 * (docs/benchmark.md), and the path read back from a folder for the benchmark. */
#pragma once

#include "gv-clip-folder.h"
#include "gv-world.h"

G_BEGIN_DECLS

/* Renders @clip into a clip folder at @fps frames per second. */
GvClipFolder *gv_world_clip_folder (const GvWorldClip *clip, gdouble fps);
/* The object's place in every frame from the extras' "trajectory" (clip->frames entries of x,
 * y, size); NULL with GV_CLIP_FOLDER_ERROR_INVALID when it is absent or malformed. */
GvWorldPlace *gv_world_folder_path (const GvClipFolder *clip, GError **error);

G_END_DECLS

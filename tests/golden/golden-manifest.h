/* The manifest of the golden set (golden-manifest.txt): the cases gv-golden expects and the
 * role of every tensor of each, so that a missing case, file or tap is a failure and not a
 * comparison silently left out. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gchar *name;
  gchar *skip;            /* why the case is not run yet, or NULL */
  GPtrArray *inputs;      /* tensor names the runner reads */
  GPtrArray *compared;    /* tensor names the runner must compare */
} GoldenManifestCase;

typedef struct {
  GPtrArray *cases;       /* GoldenManifestCase, in the order of the file */
} GoldenManifest;

/* Parses @path. Errors (GV_ERROR_CORRUPT, with the line): an unknown keyword, an entry before
 * the first case, a case or tensor given twice, a case that is not skipped and compares
 * nothing, a manifest without cases. */
GoldenManifest *golden_manifest_load (const gchar *path, GError **error);
void golden_manifest_free (GoldenManifest *m);

/* The case @name, or NULL. */
const GoldenManifestCase *golden_manifest_find (const GoldenManifest *m, const gchar *name);
/* Whether @tensor is one of the case's inputs or compared tensors. */
gboolean golden_manifest_case_lists (const GoldenManifestCase *mc, const gchar *tensor);
gboolean golden_manifest_case_compares (const GoldenManifestCase *mc, const gchar *tensor);

G_END_DECLS

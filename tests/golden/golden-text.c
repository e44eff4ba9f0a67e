/* tokenizer and text_encoder cases */
#include <string.h>

#include "gv-golden.h"

static void
run_tokenizer (Golden *g)
{
  GError *error = NULL;
  gchar *folder = g_build_filename (g->checkpoint, "tokenizer", NULL);
  GvTokenizer *tok = gv_tokenizer_new (folder, &error);
  gchar **prompts = gv_case_get_strv (g->c, "prompts");
  g_free (folder);
  if (tok == NULL || prompts == NULL) {
    golden_fail (g, "tokenizer", error);
    g_clear_error (&error);
    g_strfreev (prompts);
    gv_tokenizer_free (tok);
    return;
  }
  guint n = g_strv_length (prompts);
  gint len = gv_tokenizer_get_max_length (tok);
  gint64 *ids = g_new (gint64, (gsize) n * len), *mask = g_new (gint64, (gsize) n * len);
  gint32 *row_ids = g_new (gint32, len), *row_mask = g_new (gint32, len);
  for (guint i = 0; i < n; i++) {
    gv_tokenizer_encode (tok, prompts[i], row_ids, row_mask);
    for (gint j = 0; j < len; j++) {
      ids[i * len + j] = row_ids[j];
      mask[i * len + j] = row_mask[j];
    }
  }
  golden_compare_i64 (g, "input_ids", ids, (gsize) n * len);
  golden_compare_i64 (g, "attention_mask", mask, (gsize) n * len);
  g_free (ids);
  g_free (mask);
  g_free (row_ids);
  g_free (row_mask);
  g_strfreev (prompts);
  gv_tokenizer_free (tok);
}

static void
run_text_encoder (Golden *g)
{
  GError *error = NULL;
  GvModel *m = golden_model (g);
  gint64 shape[GV_ST_MAX_DIMS];
  if (m == NULL)
    return;
  if (gv_case_get_shape (g->c, "input_ids", shape) != 2) {
    golden_fail (g, "input_ids", NULL);
    return;
  }
  gint64 *ids64 = gv_case_read_i64 (g->c, "input_ids", &error);
  if (ids64 == NULL) {
    golden_fail (g, "input_ids", error);
    g_clear_error (&error);
    return;
  }
  gint n = (gint) shape[0], len = (gint) shape[1];
  gint32 *ids = g_new (gint32, (gsize) n * len);
  for (gint i = 0; i < n * len; i++)
    ids[i] = (gint32) ids64[i];

  GvCmd *cmd = gv_cmd_new (g->dev);
  GvTensor *pooled = NULL;
  GvTensor *last = gv_text_encoder_forward (gv_model_get_text_encoder (m), cmd, ids, n, len,
      &pooled, golden_tap, g);
  gfloat *last_host = g_new (gfloat, last->numel), *pooled_host = g_new (gfloat, pooled->numel);
  gv_tensor_record_download (cmd, last, last_host);
  gv_tensor_record_download (cmd, pooled, pooled_host);
  if (golden_finish (g, cmd, "text_encoder")) {
    golden_compare (g, "last_hidden_state", NULL, last_host, last->numel);
    golden_compare (g, "pooler_output", NULL, pooled_host, pooled->numel);
    golden_compare_taps (g);
  }
  gv_tensor_unref (last);
  gv_tensor_unref (pooled);
  gv_cmd_free (cmd);
  g_free (last_host);
  g_free (pooled_host);
  g_free (ids);
  g_free (ids64);
}

gboolean
golden_run_text (Golden *g, const gchar *kind)
{
  if (strcmp (kind, "tokenizer") == 0)
    run_tokenizer (g);
  else if (strcmp (kind, "text_encoder") == 0)
    run_text_encoder (g);
  else
    return FALSE;
  return TRUE;
}

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "base/gv-error.h"
#include "models/gv-tokenizer-build.h"
#include "models/gv-tokenizer-private.h"

typedef struct {
  gchar *byte_sym[256];
  GHashTable *ranks;       /* "first second" -> rank + 1 */
  GPtrArray *merges;       /* "first second", in rank order */
  GPtrArray *vocab;        /* symbols in id order */
  GHashTable *known;       /* symbol -> TRUE */
} Build;

static void
add_symbol (Build *b, const gchar *sym)
{
  if (!g_hash_table_contains (b->known, sym)) {
    gchar *s = g_strdup (sym);
    g_ptr_array_add (b->vocab, s);
    g_hash_table_add (b->known, s);
  }
}

/* a word CLIP's pre-tokenizer keeps whole, as it sees it after lower-casing: letters only */
static gboolean
word_ok (const gchar *w)
{
  if (w == NULL || *w == '\0' || !g_utf8_validate (w, -1, NULL))
    return FALSE;
  for (const gchar *p = w; *p; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    if (!g_unichar_isalpha (c) || g_unichar_tolower (c) != c)
      return FALSE;
  }
  return TRUE;
}

/* merges until @word is one symbol: each time the first two symbols of its current BPE */
static void
cover_word (Build *b, const gchar *word)
{
  GString *enc = g_string_new (NULL);
  for (const guint8 *p = (const guint8 *) word; *p; p++)
    g_string_append (enc, b->byte_sym[*p]);
  for (;;) {
    GPtrArray *sym = g_ptr_array_new_with_free_func (g_free);
    gv_tokenizer_bpe (b->ranks, enc->str, sym);
    if (sym->len > 1) {
      gchar *pair = g_strconcat (sym->pdata[0], " ", sym->pdata[1], NULL);
      gchar *merged = g_strconcat (sym->pdata[0], sym->pdata[1], NULL);
      g_ptr_array_add (b->merges, pair);
      g_hash_table_insert (b->ranks, g_strdup (pair), GINT_TO_POINTER (b->merges->len));
      add_symbol (b, merged);
      g_free (merged);
    }
    guint n = sym->len;
    g_ptr_array_unref (sym);
    if (n <= 1)
      break;
  }
  g_string_free (enc, TRUE);
}

static gboolean
write_file (const gchar *folder, const gchar *name, const gchar *text, GError **error)
{
  gchar *path = g_build_filename (folder, name, NULL);
  gboolean ok = g_file_set_contents (path, text, -1, error);
  g_free (path);
  return ok;
}

static gchar *
vocab_json (Build *b)
{
  JsonBuilder *jb = json_builder_new ();
  json_builder_begin_object (jb);
  for (guint i = 0; i < b->vocab->len; i++) {
    json_builder_set_member_name (jb, b->vocab->pdata[i]);
    json_builder_add_int_value (jb, i);
  }
  json_builder_end_object (jb);
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root = json_builder_get_root (jb);
  json_generator_set_root (gen, root);
  gchar *text = json_generator_to_data (gen, NULL);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (jb);
  return text;
}

#define ADDED_TOKEN(type, text) "{\n    " type "\"content\": \"" text "\",\n" \
  "    \"lstrip\": false,\n    \"normalized\": true,\n    \"rstrip\": false,\n" \
  "    \"single_word\": false\n  }"
#define BOS(type) ADDED_TOKEN (type, "<|startoftext|>")
#define EOS(type) ADDED_TOKEN (type, "<|endoftext|>")
#define AT "\"__type\": \"AddedToken\",\n    "

static const gchar special_tokens_map[] =
    "{\n  \"bos_token\": " BOS ("") ",\n  \"eos_token\": " EOS ("") ",\n"
    "  \"pad_token\": \"!\",\n  \"unk_token\": " EOS ("") "\n}\n";

/* transformers' CLIPTokenizer configuration, max length filled in; with every key that
 * save_pretrained() writes (name_or_path and special_tokens_map_file are informative only),
 * so that the file has the keys of the golden checkpoint's (gv-layout-check.h) */
static const gchar tokenizer_config[] =
    "{\n  \"add_prefix_space\": false,\n  \"bos_token\": " BOS (AT) ",\n"
    "  \"do_lower_case\": true,\n  \"eos_token\": " EOS (AT) ",\n  \"errors\": \"replace\",\n"
    "  \"model_max_length\": %d,\n  \"name_or_path\": \"tokenizer\",\n"
    "  \"pad_token\": \"!\",\n  \"special_tokens_map_file\": null,\n"
    "  \"tokenizer_class\": \"CLIPTokenizer\",\n  \"unk_token\": " EOS (AT) "\n}\n";

gboolean
gv_tokenizer_build (const gchar *folder, const gchar *const *words, gint max_length,
    GError **error)
{
  if (max_length < 2) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "tokenizer: a max length of %d leaves no "
        "room for the start and end tokens", max_length);
    return FALSE;
  }
  for (guint i = 0; words != NULL && words[i] != NULL; i++) {
    if (!word_ok (words[i])) {
      g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "tokenizer: '%s' is not one lower-case "
          "word of letters", words[i]);
      return FALSE;
    }
  }
  if (g_mkdir_with_parents (folder, 0755) != 0) {
    gint err = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "%s: cannot create: %s",
        folder, g_strerror (err));
    return FALSE;
  }

  Build b = { { NULL } };
  gv_tokenizer_byte_symbols (b.byte_sym);
  b.ranks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  b.merges = g_ptr_array_new_with_free_func (g_free);
  b.vocab = g_ptr_array_new_with_free_func (g_free);
  b.known = g_hash_table_new (g_str_hash, g_str_equal);
  for (gint i = 0; i < 256; i++)
    add_symbol (&b, b.byte_sym[i]);
  for (gint i = 0; i < 256; i++) {
    gchar *end = g_strconcat (b.byte_sym[i], "</w>", NULL);
    add_symbol (&b, end);
    g_free (end);
  }
  for (guint i = 0; words != NULL && words[i] != NULL; i++)
    cover_word (&b, words[i]);
  add_symbol (&b, "<|startoftext|>");
  add_symbol (&b, "<|endoftext|>");

  GString *merges = g_string_new ("#version: 0.2\n");
  for (guint i = 0; i < b.merges->len; i++)
    g_string_append_printf (merges, "%s\n", (gchar *) b.merges->pdata[i]);
  gchar *vocab = vocab_json (&b);
  gchar *config = g_strdup_printf (tokenizer_config, max_length);
  gboolean ok = write_file (folder, "vocab.json", vocab, error) &&
      write_file (folder, "merges.txt", merges->str, error) &&
      write_file (folder, "special_tokens_map.json", special_tokens_map, error) &&
      write_file (folder, "tokenizer_config.json", config, error);
  g_free (config);
  g_free (vocab);
  g_string_free (merges, TRUE);
  for (gint i = 0; i < 256; i++)
    g_free (b.byte_sym[i]);
  g_hash_table_unref (b.known);
  g_hash_table_unref (b.ranks);
  g_ptr_array_unref (b.merges);
  g_ptr_array_unref (b.vocab);
  return ok;
}

/* CLIP BPE tokenizer, as transformers' slow CLIPTokenizer (without ftfy) runs:
 *   1. special tokens (bos, eos, unk, pad) are split out of the raw text first, so a pad token
 *      of "!" turns every "!" into its id;
 *   2. the rest is cleaned like BasicTokenizer: control characters dropped, whitespace folded,
 *      CJK ideographs spaced, NFC, lower-cased;
 *   3. CLIP's pre-tokenizer regex cuts words, which are byte-encoded to unicode symbols,
 *      get "</w>" on their last symbol and are merged pair by pair in the order of merges.txt;
 *   4. [BOS] + ids[:L-2] + [EOS], padded to L = model_max_length with the pad id. */
#include <string.h>

#include "models/gv-json.h"
#include "models/gv-tokenizer.h"
#include "models/gv-tokenizer-private.h"

/* transformers reads at most this many merges (49152 - 256 - 2) */
#define MAX_MERGES 48894

typedef struct {
  gchar *text;
  gint id;
} Special;

struct _GvTokenizer {
  GHashTable *vocab;         /* symbol -> id + 1 */
  GHashTable *ranks;         /* "first second" -> rank + 1 */
  gchar *byte_sym[256];      /* byte -> UTF-8 of its symbol */
  Special specials[4];       /* bos, eos, unk, pad */
  gint n_specials;
  gint max_length;
  gint bos_id, eos_id, unk_id, pad_id;
};

void
gv_tokenizer_byte_symbols (gchar *byte_sym[256])
{
  gint next = 256;
  for (gint b = 0; b < 256; b++) {
    gboolean printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) ||
        (b >= 0xae && b <= 0xff);
    gunichar c = printable ? (gunichar) b : (gunichar) next++;
    gchar buf[8];
    buf[g_unichar_to_utf8 (c, buf)] = '\0';
    byte_sym[b] = g_strdup (buf);
  }
}

static gboolean
load_vocab (GvTokenizer *tok, const gchar *path, GError **error)
{
  JsonObject *obj = gv_json_load_object (path, error);
  if (obj == NULL)
    return FALSE;
  JsonObjectIter it;
  const gchar *key;
  JsonNode *node;
  gboolean ok = TRUE;
  json_object_iter_init_ordered (&it, obj);
  while (ok && json_object_iter_next_ordered (&it, &key, &node)) {
    if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
        json_node_get_int (node) < 0 || json_node_get_int (node) >= G_MAXINT) {
      g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: the id of '%s' is not a "
          "non-negative integer", path, key);
      ok = FALSE;
    } else {
      g_hash_table_insert (tok->vocab, g_strdup (key),
          GINT_TO_POINTER ((gint) json_node_get_int (node) + 1));
    }
  }
  json_object_unref (obj);
  if (ok && g_hash_table_size (tok->vocab) == 0) {
    g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: the vocabulary is empty", path);
    ok = FALSE;
  }
  return ok;
}

/* merges.txt: a version line, then "first second" per line, the rank being the line order
 * (a pair listed twice keeps its later rank, as a Python dict does). */
static gboolean
load_merges (GvTokenizer *tok, const gchar *path, GError **error)
{
  gchar *text;
  gsize len;
  GError *ferr = NULL;
  if (!g_file_get_contents (path, &text, &len, &ferr)) {
    g_set_error (error, GV_ERROR, ferr->code == G_FILE_ERROR_NOENT ? GV_ERROR_NOT_FOUND :
        GV_ERROR_CORRUPT, "%s: %s", path, ferr->message);
    g_error_free (ferr);
    return FALSE;
  }
  /* the whole file: a NUL byte is not text either */
  if (!g_utf8_validate (text, len, NULL)) {
    g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: not UTF-8 text", path);
    g_free (text);
    return FALSE;
  }
  gchar **lines = g_strsplit (g_strstrip (text), "\n", -1);
  /* an empty file splits into no line at all: no version line, no merges */
  for (guint i = 1; lines[0] && lines[i] && i <= MAX_MERGES; i++) {
    gchar **parts = g_strsplit_set (g_strstrip (lines[i]), " \t\r", -1);
    gchar *a = NULL, *b = NULL;
    gint n = 0;
    for (gchar **p = parts; *p; p++) {
      if (**p == '\0')
        continue;
      if (n == 0)
        a = *p;
      else if (n == 1)
        b = *p;
      n++;
    }
    /* other lines give tuples that never match a pair */
    if (n == 2)
      g_hash_table_insert (tok->ranks, g_strconcat (a, " ", b, NULL), GINT_TO_POINTER (i));
    g_strfreev (parts);
  }
  g_strfreev (lines);
  g_free (text);
  return TRUE;
}

static gint
vocab_id (GvTokenizer *tok, const gchar *symbol)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (tok->vocab, symbol)) - 1;
}

/* Ids of the special tokens; one missing from the vocabulary is added after it, as
 * transformers' add_tokens() does. */
static void
init_specials (GvTokenizer *tok, const GvTokenizerConfig *cfg)
{
  const gchar *texts[4] = { cfg->bos_token, cfg->eos_token, cfg->unk_token, cfg->pad_token };
  gint *ids[4] = { &tok->bos_id, &tok->eos_id, &tok->unk_id, &tok->pad_id };
  gint next = (gint) g_hash_table_size (tok->vocab);

  for (gint i = 0; i < 4; i++) {
    gint id = -1;
    for (gint k = 0; k < tok->n_specials; k++)
      if (strcmp (tok->specials[k].text, texts[i]) == 0)
        id = tok->specials[k].id;
    if (id < 0) {
      id = vocab_id (tok, texts[i]);
      if (id < 0)
        id = next++;
      tok->specials[tok->n_specials].text = g_strdup (texts[i]);
      tok->specials[tok->n_specials++].id = id;
    }
    *ids[i] = id;
  }
}

GvTokenizer *
gv_tokenizer_new (const gchar *folder, GError **error)
{
  GvTokenizerConfig cfg;
  if (!gv_tokenizer_config_load (folder, &cfg, error))
    return NULL;

  GvTokenizer *tok = g_new0 (GvTokenizer, 1);
  tok->vocab = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  tok->ranks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  tok->max_length = cfg.model_max_length;
  gv_tokenizer_byte_symbols (tok->byte_sym);

  gchar *vocab = g_build_filename (folder, "vocab.json", NULL);
  gchar *merges = g_build_filename (folder, "merges.txt", NULL);
  gboolean ok = load_vocab (tok, vocab, error) && load_merges (tok, merges, error);
  g_free (vocab);
  g_free (merges);
  if (ok)
    init_specials (tok, &cfg);
  gv_tokenizer_config_clear (&cfg);
  if (!ok) {
    gv_tokenizer_free (tok);
    return NULL;
  }
  return tok;
}

void
gv_tokenizer_free (GvTokenizer *tok)
{
  if (tok == NULL)
    return;
  g_hash_table_unref (tok->vocab);
  g_hash_table_unref (tok->ranks);
  for (gint i = 0; i < 256; i++)
    g_free (tok->byte_sym[i]);
  for (gint i = 0; i < tok->n_specials; i++)
    g_free (tok->specials[i].text);
  g_free (tok);
}

gint
gv_tokenizer_get_max_length (GvTokenizer *tok)
{
  return tok->max_length;
}

gint
gv_tokenizer_get_id (GvTokenizer *tok, const gchar *token)
{
  for (gint i = 0; i < tok->n_specials; i++)
    if (strcmp (tok->specials[i].text, token) == 0)
      return tok->specials[i].id;
  return vocab_id (tok, token);
}

void
gv_tokenizer_get_special_ids (GvTokenizer *tok, gint *bos, gint *eos, gint *pad)
{
  if (bos)
    *bos = tok->bos_id;
  if (eos)
    *eos = tok->eos_id;
  if (pad)
    *pad = tok->pad_id;
}

static gboolean
is_cjk (gunichar c)
{
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
      (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f) ||
      (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b820 && c <= 0x2ceaf) ||
      (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/* Python's str.lower() where GLib differs: a few non-letters (roman numerals, circled
 * letters) have lower-case forms, and capital sigma is final only after a cased letter. */
static gboolean
other_upper (gunichar c)
{
  return (c >= 0x2160 && c <= 0x216f) || (c >= 0x24b6 && c <= 0x24cf);
}

static gboolean
is_cased (gunichar c)
{
  return g_unichar_isupper (c) || g_unichar_islower (c) || g_unichar_istitle (c) ||
      other_upper (c) || (c >= 0x2170 && c <= 0x217f) || (c >= 0x24d0 && c <= 0x24e9);
}

static gboolean
is_case_ignorable (gunichar c)
{
  switch (g_unichar_type (c)) {
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_FORMAT:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_MODIFIER_SYMBOL:
      return TRUE;
    default:
      /* word-break MidLetter / MidNumLet / Single_Quote */
      return c == '\'' || c == '.' || c == ':' || c == 0xb7 || c == 0x387 || c == 0x5f4 ||
          c == 0x2018 || c == 0x2019 || c == 0x2024 || c == 0x2027 || c == 0xfe13 ||
          c == 0xfe52 || c == 0xfe55 || c == 0xff07 || c == 0xff0e || c == 0xff1a;
  }
}

/* a cased character before @i / from @i on in @u, skipping case-ignorable ones */
static gboolean
cased_around (const gunichar *u, glong n, glong i, gint dir)
{
  for (glong k = i; k >= 0 && k < n; k += dir) {
    if (!is_case_ignorable (u[k]))
      return is_cased (u[k]);
  }
  return FALSE;
}

static gchar *
python_lower (const gchar *text)
{
  glong n;
  gunichar *u = g_utf8_to_ucs4_fast (text, -1, &n);
  GString *out = g_string_new (NULL);
  for (glong i = 0; i < n; i++) {
    gunichar c = u[i];
    if (other_upper (c)) {
      g_string_append_unichar (out, c + (c < 0x2170 ? 0x10 : 26));
    } else if (c == 0x3a3) {
      gboolean final = cased_around (u, n, i - 1, -1) && !cased_around (u, n, i + 1, 1);
      g_string_append_unichar (out, final ? 0x3c2 : 0x3c3);
    } else {
      gchar buf[8];
      buf[g_unichar_to_utf8 (c, buf)] = '\0';
      gchar *lower = g_utf8_strdown (buf, -1);
      g_string_append (out, lower);
      g_free (lower);
    }
  }
  g_free (u);
  return g_string_free (out, FALSE);
}

/* BasicTokenizer (no punctuation split): the words of @text, lower-cased, joined by one
 * space. */
static gchar *
clean_text (const gchar *text)
{
  GString *s = g_string_new (NULL);
  for (const gchar *p = text; *p; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    GUnicodeType t = g_unichar_type (c);
    if (c == '\t' || c == '\n' || c == '\r' || t == G_UNICODE_SPACE_SEPARATOR) {
      g_string_append_c (s, ' ');
    } else if (c == 0 || c == 0xfffd || t == G_UNICODE_CONTROL || t == G_UNICODE_FORMAT ||
        t == G_UNICODE_UNASSIGNED || t == G_UNICODE_PRIVATE_USE || t == G_UNICODE_SURROGATE) {
      continue;
    } else if (is_cjk (c)) {
      g_string_append_c (s, ' ');
      g_string_append_unichar (s, c);
      g_string_append_c (s, ' ');
    } else {
      g_string_append_unichar (s, c);
    }
  }
  gchar *nfc = g_utf8_normalize (s->str, -1, G_NORMALIZE_NFC);
  g_string_free (s, TRUE);

  /* split on whitespace, lower-case each word, join with single spaces */
  GString *out = g_string_new (NULL), *word = g_string_new (NULL);
  for (const gchar *p = nfc;; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    if (*p && !g_unichar_isspace (c)) {
      g_string_append_unichar (word, c);
      continue;
    }
    if (word->len) {
      gchar *lower = python_lower (word->str);
      if (out->len)
        g_string_append_c (out, ' ');
      g_string_append (out, lower);
      g_free (lower);
      g_string_truncate (word, 0);
    }
    if (*p == '\0')
      break;
  }
  g_string_free (word, TRUE);
  g_free (nfc);
  return g_string_free (out, FALSE);
}

static gboolean
is_number (gunichar c)
{
  GUnicodeType t = g_unichar_type (c);
  return t == G_UNICODE_DECIMAL_NUMBER || t == G_UNICODE_LETTER_NUMBER ||
      t == G_UNICODE_OTHER_NUMBER;
}

/* Length in bytes of the match of CLIP's pattern at @p:
 *   <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+ */
static gsize
match_word (const gchar *p)
{
  static const gchar *const fixed[] = { "<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re",
    "'ve", "'m", "'ll", "'d" };
  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    if (g_str_has_prefix (p, fixed[i]))
      return strlen (fixed[i]);

  gunichar c = g_utf8_get_char (p);
  const gchar *q = p;
  if (is_number (c))
    return g_utf8_next_char (p) - p;
  gboolean letters = g_unichar_isalpha (c);
  while (*q) {
    c = g_utf8_get_char (q);
    gboolean other = !g_unichar_isalpha (c) && !is_number (c) && !g_unichar_isspace (c);
    if (letters ? !g_unichar_isalpha (c) : !other)
      break;
    q = g_utf8_next_char (q);
  }
  return q - p;
}

void
gv_tokenizer_bpe (GHashTable *ranks, const gchar *word, GPtrArray *out)
{
  /* the two CLIP markers are whole tokens (transformers seeds its BPE cache with them) */
  if (strcmp (word, "<|startoftext|>") == 0 || strcmp (word, "<|endoftext|>") == 0) {
    g_ptr_array_add (out, g_strdup (word));
    return;
  }
  GPtrArray *sym = g_ptr_array_new_with_free_func (g_free);
  for (const gchar *p = word; *p; p = g_utf8_next_char (p)) {
    const gchar *next = g_utf8_next_char (p);
    gchar *s = g_strndup (p, next - p);
    if (*next == '\0') {
      gchar *end = g_strconcat (s, "</w>", NULL);
      g_free (s);
      s = end;
    }
    g_ptr_array_add (sym, s);
  }

  GString *key = g_string_new (NULL);
  while (sym->len > 1) {
    gint best = G_MAXINT;
    guint best_i = 0;
    for (guint i = 0; i + 1 < sym->len; i++) {
      g_string_printf (key, "%s %s", (gchar *) sym->pdata[i], (gchar *) sym->pdata[i + 1]);
      gint r = GPOINTER_TO_INT (g_hash_table_lookup (ranks, key->str));
      if (r > 0 && r < best) {
        best = r;
        best_i = i;
      }
    }
    if (best == G_MAXINT)
      break;
    /* merge every occurrence of the pair, left to right */
    gchar *first = g_strdup (sym->pdata[best_i]), *second = g_strdup (sym->pdata[best_i + 1]);
    GPtrArray *merged = g_ptr_array_new_with_free_func (g_free);
    for (guint i = 0; i < sym->len;) {
      if (i + 1 < sym->len && strcmp (sym->pdata[i], first) == 0 &&
          strcmp (sym->pdata[i + 1], second) == 0) {
        g_ptr_array_add (merged, g_strconcat (first, second, NULL));
        i += 2;
      } else {
        g_ptr_array_add (merged, g_strdup (sym->pdata[i]));
        i++;
      }
    }
    g_free (first);
    g_free (second);
    g_ptr_array_unref (sym);
    sym = merged;
  }
  g_string_free (key, TRUE);
  for (guint i = 0; i < sym->len; i++)
    g_ptr_array_add (out, g_strdup (sym->pdata[i]));
  g_ptr_array_unref (sym);
}

/* the tokens of @text, which holds no special token */
static void
tokenize_plain (GvTokenizer *tok, const gchar *text, GPtrArray *out)
{
  gchar *clean = clean_text (text);
  GString *word = g_string_new (NULL);

  for (const gchar *p = clean; *p;) {
    if (*p == ' ') {
      p++;
      continue;
    }
    gsize len = match_word (p);
    g_string_truncate (word, 0);
    for (gsize i = 0; i < len; i++)
      g_string_append (word, tok->byte_sym[(guint8) p[i]]);
    gv_tokenizer_bpe (tok->ranks, word->str, out);
    p += len;
  }
  g_string_free (word, TRUE);
  g_free (clean);
}

/* the special token starting at @p (the longest one), or NULL */
static const Special *
special_at (GvTokenizer *tok, const gchar *p)
{
  const Special *best = NULL;
  for (gint i = 0; i < tok->n_specials; i++) {
    if (g_str_has_prefix (p, tok->specials[i].text) &&
        (best == NULL || strlen (tok->specials[i].text) > strlen (best->text)))
      best = &tok->specials[i];
  }
  return best;
}

gchar **
gv_tokenizer_tokenize (GvTokenizer *tok, const gchar *text)
{
  gchar *valid = g_utf8_make_valid (text, -1);
  GPtrArray *out = g_ptr_array_new ();
  GString *plain = g_string_new (NULL);

  for (const gchar *p = valid; *p;) {
    const Special *s = special_at (tok, p);
    if (s == NULL) {
      const gchar *next = g_utf8_next_char (p);
      g_string_append_len (plain, p, next - p);
      p = next;
      continue;
    }
    tokenize_plain (tok, plain->str, out);
    g_string_truncate (plain, 0);
    g_ptr_array_add (out, g_strdup (s->text));
    p += strlen (s->text);
  }
  tokenize_plain (tok, plain->str, out);
  g_string_free (plain, TRUE);
  g_free (valid);
  g_ptr_array_add (out, NULL);
  return (gchar **) g_ptr_array_free (out, FALSE);
}

void
gv_tokenizer_encode (GvTokenizer *tok, const gchar *text, gint32 *ids, gint32 *attention_mask)
{
  gchar **tokens = gv_tokenizer_tokenize (tok, text);
  gint n = 0, max = tok->max_length;

  ids[n++] = tok->bos_id;
  for (gchar **t = tokens; *t && n < max - 1; t++) {
    gint id = gv_tokenizer_get_id (tok, *t);
    ids[n++] = id >= 0 ? id : tok->unk_id;
  }
  ids[n++] = tok->eos_id;
  for (gint i = 0; i < max; i++) {
    if (i >= n)
      ids[i] = tok->pad_id;
    if (attention_mask)
      attention_mask[i] = i < n;
  }
  g_strfreev (tokens);
}

/* What the tokenizer and the tokenizer builder (gv-tokenizer-build.c) share: the byte
 * symbols and the BPE of one word, so a built vocabulary is merged exactly as it is read. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* GPT-2's byte-to-unicode table: @byte_sym[b] gets the UTF-8 of byte b's symbol (g_free
 * each). Printable Latin-1 bytes stand for themselves, the others take code points from 256
 * upwards, in byte order. */
void gv_tokenizer_byte_symbols (gchar *byte_sym[256]);

/* BPE of one byte-encoded word: its symbols (the last with "</w>") merged by rank (@ranks:
 * "first second" -> rank + 1, lower first); the resulting symbols are appended to @out
 * (g_free each). */
void gv_tokenizer_bpe (GHashTable *ranks, const gchar *word, GPtrArray *out);

G_END_DECLS

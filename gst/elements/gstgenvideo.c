/* The genvideo plugin: video editing with a diffusion model (GenVideo), in three stages. */
#include "gstgenvideoelements.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ok = FALSE;

  ok |= GST_ELEMENT_REGISTER (genvideotune, plugin);
  ok |= GST_ELEMENT_REGISTER (invedit, plugin);
  ok |= GST_ELEMENT_REGISTER (latentcorrect, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, genvideo,
    "Edits videos with a diffusion model: fine-tuning, inversion masks, latent correction",
    plugin_init, VERSION, "LGPL", GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)

#!/usr/bin/python3
"""Edit a video file with the three genvideo elements, from Python (PyGObject).

    edit-video.py INPUT OUTPUT.webm --target IMAGE.png --source-prompt "..." --target-prompt "..."
                  [--masks MASKS.webm] [--size 128] [--steps 20] [--clip-frames 8] [--model DIR]

Decodes INPUT, scales it to the model's size, runs genvideotune ! invedit ! latentcorrect, and
writes the edited clip (VP8/WebM). With --masks, a tee after invedit writes the InvEdit masks
too. A progress bar follows the elements' genvideo-progress messages on the bus; the masks'
genvideo-mask reports and any error are printed. Exit status 0 on success.

Needs python3-gi and gir1.2-gstreamer-1.0 (Debian), and the plugin on GST_PLUGIN_PATH
(`meson devenv -C build` sets it up in a build tree).
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

PROGRESS = "genvideo-progress"


def build_pipeline(args):
    """The pipeline as gst-launch syntax; every user value is quoted for the parser."""

    def q(value):
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'

    model = f" model={q(args.model)}" if args.model else ""
    common = f"clip-frames={args.clip_frames}{model}"
    edit_branch = (
        f"latentcorrect steps={args.steps} {common} ! videoconvert ! vp8enc deadline=1 ! "
        f"webmmux ! filesink location={q(args.output)}"
    )
    desc = (
        f"filesrc location={q(args.input)} ! decodebin ! videoconvert ! videoscale ! "
        f"video/x-raw,width={args.size},height={args.size} ! "
        f"genvideotune name=tune source-prompt={q(args.source_prompt)} steps=0 {common} ! "
        f"invedit name=edit target-prompt={q(args.target_prompt)} "
        f"target-location={q(args.target)} inversion-steps={args.steps} {common} ! "
    )
    if args.masks:
        queue = "queue max-size-buffers=0 max-size-time=0 max-size-bytes=0"
        desc += (
            f"tee name=t t. ! {queue} ! {edit_branch} "
            f"t. ! {queue} ! invedit output=masks ! videoconvert ! vp8enc deadline=1 ! "
            f"webmmux ! filesink location={q(args.masks)}"
        )
    else:
        desc += edit_branch
    return Gst.parse_launch(desc)


class ProgressBar:
    """One line per element, redrawn in place on a terminal."""

    def __init__(self):
        self.tty = sys.stderr.isatty()

    def update(self, element, stage, percent):
        width = 30
        filled = width * percent // 100
        line = f"{element:>14} {stage:<10} [{'#' * filled}{'.' * (width - filled)}] {percent:3d}%"
        if self.tty:
            sys.stderr.write("\r" + line)
        elif percent in (0, 100):
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def done(self):
        if self.tty:
            sys.stderr.write("\n")


def run(pipeline):
    bar = ProgressBar()
    loop = GLib.MainLoop()
    result = {"ok": False}

    def on_message(bus, msg):
        t = msg.type
        if t == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            if s.has_name(PROGRESS):
                bar.update(msg.src.get_name(), s.get_string("stage"), s.get_int("percent")[1])
            elif s.has_name("genvideo-mask") and msg.src.get_name() == "edit":
                bar.done()
                print(f"masks of clip {s.get_uint64('clip-id')[1]}: {s.to_string()}")
        elif t == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            bar.done()
            print(f"error from {msg.src.get_name()}: {err.message}\n  {debug}", file=sys.stderr)
            loop.quit()
        elif t == Gst.MessageType.WARNING:
            err, _ = msg.parse_warning()
            print(f"warning from {msg.src.get_name()}: {err.message}", file=sys.stderr)
        elif t == Gst.MessageType.EOS:
            bar.done()
            result["ok"] = True
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        # a refused start has posted its error already
        msg = bus.timed_pop_filtered(Gst.SECOND, Gst.MessageType.ERROR)
        if msg is not None:
            on_message(bus, msg)
        pipeline.set_state(Gst.State.NULL)
        bus.remove_signal_watch()
        return False
    try:
        loop.run()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    pipeline.set_state(Gst.State.NULL)
    bus.remove_signal_watch()
    return result["ok"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--target", required=True, help="target object image (PNG with alpha)")
    p.add_argument("--source-prompt", required=True)
    p.add_argument("--target-prompt", required=True)
    p.add_argument("--masks", help="also write the InvEdit masks to this WebM file")
    p.add_argument("--size", type=int, default=128, help="frame size the model works at")
    p.add_argument("--steps", type=int, default=20, help="inversion and sampling steps")
    p.add_argument("--clip-frames", type=int, default=8)
    p.add_argument("--model", help="checkpoint folder (default: the elements' default model)")
    args = p.parse_args()

    Gst.init(None)
    if Gst.ElementFactory.find("genvideotune") is None:
        sys.exit("the genvideo plugin was not found: set GST_PLUGIN_PATH (meson devenv does)")
    try:
        pipeline = build_pipeline(args)
    except GLib.Error as e:
        sys.exit(f"could not build the pipeline: {e.message}")
    sys.exit(0 if run(pipeline) else 1)


if __name__ == "__main__":
    main()

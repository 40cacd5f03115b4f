"""The ``mmstudio`` command. Without a command it opens the window (on the given paths, or the
demo world); commands work headless.

Nothing heavy is imported here: each command's module is imported when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from mmstudio import __version__

# command → (module with add_arguments(parser) and run(args) -> int, one-line help)
COMMANDS = {
    "embed": ("mmstudio.cli.embed", "encode files, folders and manifests into an embedding table"),
    "info": ("mmstudio.cli.info", "versions, devices and the cache (same as --info)"),
    "models": ("mmstudio.cli.models", "the model families mmstudio uses and those in the local Hugging Face cache"),
    "attend": ("mmstudio.cli.attend", "draw where a text looks in an image or a sound (attention heatmap)"),
    "align": ("mmstudio.cli.align", "how well the modalities of a table line up: retrieval, gap, Procrustes, losses"),
    "compare": ("mmstudio.cli.compare", "two tables of the same samples (two models) side by side: CKA, retrieval, neighbours"),
    "project": ("mmstudio.cli.project", "a 2-D map of a table (UMAP or PCA), written as x and y columns"),
    "export": ("mmstudio.cli.export", "write a table (or a selection) as Parquet, CSV, NPZ or a TensorBoard projector folder"),
    "screenshot": ("mmstudio.cli.screenshot", "render the window offscreen to a PNG (for docs and tests)"),
    "fuse": ("mmstudio.cli.fuse", "fusion lab: score every fusion method under missing, noisy or mismatched modalities"),
    "principles": ("mmstudio.cli.principles", "textbook principles of multimodal learning, demonstrated on the demo world"),
    "demo": ("mmstudio.cli.demo", "write the demo world (demo make) or train the built-in model (demo train)"),
}


def _top_parser() -> argparse.ArgumentParser:
    commands = "\n".join(f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="mmstudio",
        description="A studio for looking inside multimodal models.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"commands (mmstudio COMMAND --help for their options):\n{commands}",
    )
    parser.add_argument("--version", action="version", version=f"mmstudio {__version__}")
    parser.add_argument("--info", action="store_true", help="print versions, devices and the cache, then exit")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files, folders or manifests to open")
    return parser


def prefer_passive_threads() -> None:
    """Let OpenMP threads sleep instead of spinning between model calls, so the decoding threads
    that feed the model get the cores (measured in benchmarks/encode.py). Must run before torch
    is imported; a value the user set wins."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: list[str] | None = None) -> int:
    """Run a command (or the window) behind the safety net: a bug becomes one line naming the log
    file that holds its traceback (exit 1), Ctrl-C becomes "interrupted" (exit 130)."""
    program = argv is None  # run as the program (not called from Python): own the process's Ctrl-C
    argv = list(sys.argv[1:] if argv is None else argv)
    who = f"mmstudio {argv[0]}" if argv and argv[0] in COMMANDS else "mmstudio"
    try:
        if program:  # a Ctrl-C that comes while this loads (a slow start) is Python's own, caught below
            from mmstudio.core import ctrl_c

            ctrl_c.install()
        code = _main(argv)
    except KeyboardInterrupt:
        return interrupted(who, program)
    except BrokenPipeError:  # `mmstudio align --json | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if _from_interrupt(exc):  # Python wraps a Ctrl-C that hits some places (e.g. __set_name__) in RuntimeError
            return interrupted(who, program)
        from mmstudio.core.logfile import report_internal_error

        print(report_internal_error(who, exc), file=sys.stderr)
        return 1
    if program:  # the work is done: a Ctrl-C while Python shuts down changes nothing
        _ignore_ctrl_c()
    return code


def interrupted(who: str, program: bool = True) -> int:
    """Ctrl-C: one line, exit 130. Run as the program, the process ends here, without Python's
    shutdown: the command's own clean-up (temporary files) has run on the way up, and the
    shutdown has nothing left to do but wait for worker threads, and could exit by SIGINT instead
    of 130 (CPython remembers a KeyboardInterrupt that ended code run by an extension's
    PyRun_String, even when it was caught later)."""
    if program:
        _ignore_ctrl_c()
    print(f"{who}: interrupted", file=sys.stderr)
    if program:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(130)
    return 130


def _from_interrupt(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _ignore_ctrl_c() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _main(argv: list[str]) -> int:
    prefer_passive_threads()
    if argv and argv[0] in COMMANDS:
        name = argv[0]
        module = importlib.import_module(COMMANDS[name][0])
        parser = argparse.ArgumentParser(prog=f"mmstudio {name}", description=COMMANDS[name][1])
        module.add_arguments(parser)
        try:
            args = parser.parse_args(argv[1:])
        except SystemExit as exc:  # a usage error (printed, 2) or --help (0): the code, for callers in Python too
            return exc.code if isinstance(exc.code, int) else 0
        return module.run(args)
    args = _top_parser().parse_args(argv)
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:  # a mistyped command, or a file that is not there: say so instead of opening a window
        print(f"mmstudio: {missing[0]}: no such command, file or folder (commands: {', '.join(COMMANDS)})",
              file=sys.stderr)
        return 2
    if args.info:
        from mmstudio.cli import info

        return info.run(args)
    from mmstudio.ui.app import run

    return run(args.paths)


if __name__ == "__main__":
    sys.exit(main())

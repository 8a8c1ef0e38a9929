"""The ``distilkit`` command: a thin layer over the Python API.

Each subcommand's flags come from its config dataclass (see :mod:`distilkit.config`); errors the
user can fix print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Callable

from distilkit import config as C
from distilkit.errors import DistilkitError


def _finetune(cfg: C.FinetuneConfig, args: argparse.Namespace) -> None:
    from distilkit.finetune import finetune

    metrics = finetune(cfg)
    print(json.dumps({"output_dir": cfg.output_dir, **{k: v for k, v in metrics.items() if isinstance(v, (int, float))}}, indent=2))


def _distill(cfg: C.DistillConfig, args: argparse.Namespace) -> None:
    from distilkit.distill.run import distill

    facts = distill(cfg)
    print(json.dumps({"output_dir": cfg.output_dir, "teacher_check": facts["teacher_check"],
                      "validation_accuracy": facts["validation_metrics"].get("eval_accuracy")}, indent=2))


def _evaluate(cfg: C.EvaluateConfig, args: argparse.Namespace) -> None:
    from distilkit.evaluate import evaluate, format_table

    results = evaluate(cfg)
    print(format_table(results))
    print(f"results written to {results['output']}")


def _predict(cfg: C.PredictConfig, args: argparse.Namespace) -> None:
    from distilkit.data.sources import read_text_lines
    from distilkit.infer import Predictor

    texts = list(args.texts)
    if cfg.input:
        texts += read_text_lines(cfg.input, cfg.text_column)
    if not texts:
        raise DistilkitError("no text to label: give texts as arguments or --input FILE")
    records = Predictor.from_dir(cfg.model, cfg.max_length, cfg.batch_size).predict(texts).records()
    lines = [json.dumps({"text": t, **r}, ensure_ascii=False) for t, r in zip(texts, records)]
    if cfg.output:
        with open(cfg.output, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    else:
        print("\n".join(lines))


def _demo(cfg: C.DemoConfig, args: argparse.Namespace) -> None:
    from distilkit.demo import demo

    demo(cfg)


def _report(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.report import build_report

    paths = build_report(cfg)
    print(f"report: {paths['html']}\nmarkdown: {paths['markdown']}")


def _report_config() -> type:
    from distilkit.report.build import ReportConfig

    return ReportConfig


COMMANDS: dict[str, tuple[type, Callable[[Any, argparse.Namespace], None], str]] = {
    "finetune": (C.FinetuneConfig, _finetune, "fine-tune an encoder for classification (makes a teacher)"),
    "distill": (C.DistillConfig, _distill, "distil a fine-tuned teacher into a smaller student"),
    "evaluate": (C.EvaluateConfig, _evaluate, "teacher vs student: quality, size, latency"),
    "predict": (C.PredictConfig, _predict, "label texts with a saved model (JSON lines)"),
    "demo": (C.DemoConfig, _demo, "the whole chain on built-in defaults (Rotten Tomatoes)"),
    "report": (_report_config, _report, "HTML + Markdown report (plots) of finished runs"),
}


def _config_class(entry: Any) -> type:
    """A COMMANDS config is a dataclass, or a function returning one (so its module loads lazily)."""
    return entry if isinstance(entry, type) else entry()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="distilkit", description="Distil a large text classifier into a small, fast student.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging and full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (cls, _, help_) in COMMANDS.items():
        cls = _config_class(cls)
        p = sub.add_parser(name, help=help_, description=(cls.__doc__ or help_).strip())
        C.add_config_arguments(p, cls)
        if name == "predict":
            p.add_argument("texts", nargs="*", help="texts to label")
        if name == "report":
            p.add_argument("runs", nargs="*", default=argparse.SUPPRESS, metavar="RUN_DIR", help="finished run dirs (distill or finetune output dirs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "urllib3", "filelock", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cls, run, _ = COMMANDS[args.command]
    try:
        cfg = C.config_from_args(_config_class(cls), args)
        run(cfg, args)
    except DistilkitError as exc:
        if args.verbose:
            raise
        print(f"distilkit {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"distilkit {args.command}: interrupted (rerun with --resume to continue from the last checkpoint)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

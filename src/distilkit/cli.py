"""The ``distilkit`` command: a thin layer over the Python API.

Each subcommand's flags come from its config dataclass (see :mod:`distilkit.config`); errors the
user can fix print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from typing import Any, Callable

from distilkit import config as C
from distilkit.distributed import is_main_process, quiet_replicas
from distilkit import deploy_config as D
from distilkit.errors import DistilkitError


def _finetune(cfg: C.FinetuneConfig, args: argparse.Namespace) -> None:
    from distilkit.finetune import finetune

    metrics = finetune(cfg)
    print(json.dumps({"output_dir": cfg.output_dir, **{k: v for k, v in metrics.items() if isinstance(v, (int, float))}}, indent=2))


def _distill(cfg: C.DistillConfig, args: argparse.Namespace) -> None:
    from distilkit.distillation.run import distill

    facts = distill(cfg)
    print(json.dumps({"output_dir": cfg.output_dir, "teacher_check": facts["teacher_check"],
                      "validation_accuracy": facts["validation_metrics"].get("eval_accuracy")}, indent=2))


def _augment(cfg: C.AugmentConfig, args: argparse.Namespace) -> None:
    from distilkit.data.transfer import augment

    print(json.dumps(augment(cfg), indent=2))


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


def _export(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.export import export, format_export_table

    manifest = export(cfg)
    print(format_export_table(manifest))
    print(f"export written to {manifest['output']}")


def _bench(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.bench import bench

    bench(cfg)


def _serve(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.serve import serve

    serve(cfg)


def _loadtest(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.loadtest import run_load_test_cli

    run_load_test_cli(cfg)


def _demo(cfg: C.DemoConfig, args: argparse.Namespace) -> None:
    from distilkit.demo import demo

    demo(cfg)


def _pretrain(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.pretrain.run import pretrain

    facts = pretrain(cfg)
    keep = ("eval_mlm_accuracy", "eval_mlm_loss", "eval_nsp_accuracy", "initial_mlm_accuracy", "initial_nsp_accuracy")
    scores = {**facts["initial_metrics"], **facts["validation_metrics"]}
    print(json.dumps({"output_dir": cfg.output_dir, **{k: scores[k] for k in keep if k in scores}}, indent=2))


def _general_distill(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.pretrain.general import general_distill

    facts = general_distill(cfg)
    print(json.dumps({"output_dir": cfg.output_dir, "initial_eval_loss": facts["initial_metrics"].get("initial_loss"),
                      "eval_loss": facts["validation_metrics"].get("eval_loss")}, indent=2))


def _lazy_config(name: str) -> type:
    from distilkit.pretrain import config as pretrain_config

    return getattr(pretrain_config, name)


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
    "augment": (C.AugmentConfig, _augment, "enlarge the training set with augmented, teacher-labelled copies"),
    "evaluate": (C.EvaluateConfig, _evaluate, "teacher vs student: quality, size, latency"),
    "predict": (C.PredictConfig, _predict, "label texts with a saved model (JSON lines)"),
    "export": (D.ExportConfig, _export, "export a classifier: HF copy, checked ONNX, ORT-optimised, int8 (scored)"),
    "bench": (D.BenchConfig, _bench, "latency, throughput and GFLOP/s vs matmul peak for each backend and the teacher"),
    "serve": (D.ServeConfig, _serve, "HTTP JSON service (FastAPI): POST /predict with micro-batching"),
    "loadtest": (D.LoadTestConfig, _loadtest, "bounded load test of a running serve (throughput, p95, failures)"),
    "demo": (C.DemoConfig, _demo, "the whole chain on built-in defaults (Rotten Tomatoes)"),
    "pretrain": (_lazy_config("PretrainConfig"), _pretrain, "MLM (+NSP) pre-training on raw text, from scratch or continued"),
    "general-distill": (_lazy_config("GeneralDistillConfig"), _general_distill,
                        "task-agnostic distillation on raw text (embeddings + hidden states)"),
    "report": (_report_config, _report, "HTML + Markdown report (plots) of finished runs"),
}


def config_class(entry: Any) -> type:
    """A COMMANDS config is a dataclass, or a function returning one (so its module loads lazily)."""
    return entry if isinstance(entry, type) else entry()


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (like every other distilkit error), exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="distilkit", description="Distil a large text classifier into a small, fast student.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging and full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (cls, _, help_) in COMMANDS.items():
        cls = config_class(cls)
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
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): a return code, as for every other outcome
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "urllib3", "filelock", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    quiet_replicas()  # torchrun / accelerate launch: rank 0 logs and prints, the others only warn
    cls, run, _ = COMMANDS[args.command]
    try:
        cfg = C.config_from_args(config_class(cls), args)
        if is_main_process():
            run(cfg, args)
        else:
            with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
                run(cfg, args)
    except DistilkitError as exc:
        if args.verbose:
            raise
        print(f"distilkit {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the disk or the OS refused (full disk, permissions): one line, not a traceback
        if args.verbose or exc.errno is None:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"distilkit {args.command}: error: {exc.strerror}{where}: free space or fix permissions, then rerun "
              "(with --resume if a checkpoint was written)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"distilkit {args.command}: interrupted (rerun with --resume to continue from the last checkpoint)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

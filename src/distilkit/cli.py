"""The ``distilkit`` command: a thin layer over the Python API.

Each subcommand's flags come from its config dataclass (see :mod:`distilkit.config`); errors the
user can fix print one line and exit with code 2. Only light modules load before a command runs
(each command imports its own, torch included, when called), so ``--help`` answers at once, and the
models a command names are checked (:func:`distilkit.modeling.zoo.check_model_name`) before any loads.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from distilkit import config as C
from distilkit.errors import DistilkitError
from distilkit.runtime.distributed import is_main_process, quiet_replicas


def _json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _finetune(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.finetune import finetune

    result = finetune(cfg)
    _json({"output_dir": result.output_dir, **{k: v for k, v in result.metrics.items() if isinstance(v, (int, float))}})


def _distill(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.distill import distill

    result = distill(cfg)
    facts = result.facts
    _json(
        {
            "output_dir": result.output_dir,
            "teacher_check": facts["teacher_check"],
            "validation": {k: v for k, v in result.metrics.items() if k.startswith("eval_") and isinstance(v, (int, float))},
            "shipped": facts.get("shipped", "kd"),
            "selection": (facts.get("selection") or {}).get("message"),
            "selection_confidence": (facts.get("selection") or {}).get("confidence"),
            "alpha": facts.get("alpha") or (facts.get("selection") or {}).get("alpha"),
            "labelled_rows": facts["labelled_rows"],
            "unlabelled_rows": facts["unlabelled_rows"],
            "unlabelled": facts.get("unlabelled"),
            "teacher_backend": facts.get("teacher_backend"),
            "teacher_watch": facts.get("teacher_watch"),
        }
    )


def _augment(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.augment import augment

    _json(augment(cfg))


def _label(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.label import label

    _json(label(cfg))


def _tune(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.tune import tune

    result = tune(cfg)
    metric = result["metric"]
    num = lambda v, fmt="{:.4f}": "" if v is None else fmt.format(v)
    print(f"{'trial':>5}  {'state':<8} {'T':>4} {'alpha':>5} {'lr':>9} {'epochs':>6} {'warmup':>6}  validation {metric}")
    for r in result["trials"]:
        print(
            f"{r['trial']:>5}  {r['state']:<8} {r['temperature']!s:>4} {r['alpha']!s:>5} {num(r['learning_rate'], '{:.2e}'):>9} "
            f"{r['epochs']!s:>6} {r['warmup_ratio']!s:>6}  {num(r['validation'])}"
        )
    print(f"best trial {result['best_trial']}: validation {metric} {result['best_validation']:.4f} {result['best_params']}")
    print(f"fair no-KD twin (alpha 0): {num(result['no_kd_validation'])}; teacher: {num(result['teacher_validation'])}")
    print(f"best recipe: {result['files']['recipe']} (distilkit distill --config {result['files']['recipe']})")


def _evaluate(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.evaluate import evaluate, format_table

    results = evaluate(cfg)
    print(format_table(results))
    print(f"results written to {results['output']}")


def _predict(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.predict import predict, predict_to_file

    if cfg.output:
        done = predict_to_file(cfg, args.texts)
        print(f"{done['written']} rows written to {done['output']} ({done['skipped']} already there)", file=sys.stderr)
        return
    for row in predict(cfg, args.texts):
        print(json.dumps(row, ensure_ascii=False), flush=False)


def _export(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.export import export, format_export_table

    manifest = export(cfg)
    print(format_export_table(manifest))
    print(f"export written to {manifest['output']}")


def _bench(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.bench import bench

    results = bench(cfg)
    print(results["table"])
    print(f"written: {', '.join(results['files'])}")


def _serve(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.serve import serve

    serve(cfg)


def _loadtest(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.loadtest import loadtest

    _json(loadtest(cfg))


def _demo(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.evaluate import format_table
    from distilkit.workflows.demo import demo

    results = demo(cfg)
    print()
    print(format_table(results))
    labels, unl = results["labels_used"], results["unlabelled_used"]
    models = {"teacher": results["models"]["teacher"], "no-kd": results["baseline"], "student": results["models"]["student"]}
    print(f"\n{'model':<30} {'labels used':>11} {'unlabelled':>10} {'test acc':>8} {'macro-F1':>8} {'params':>7}")
    for role, title in (("teacher", "teacher"), ("no-kd", "student fine-tuned, no KD"), ("student", "student distilled")):
        m = models[role]
        print(
            f"{title:<30} {labels[role]:>11,} {unl[role]:>10,} {m['accuracy']:>8.4f} {m['macro_f1']:>8.4f} {m['parameters']['total'] / 1e6:>6.1f}M"
        )
    print("\nstage times: " + ", ".join(f"{k[:-2]} {v:.0f}s" for k, v in results["timings"].items()))
    print(f"student model: {results['student_dir']}\nresults: {results['output']}\nreport: {results['report']['html']}")


def _ladder(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.report.ladder import format_ladder
    from distilkit.workflows.ladder import ladder

    summary = ladder(cfg)
    print(format_ladder(summary))
    print(f"ladder: {summary['output']}\nfigures: {', '.join(summary['figures'])}")


def _pretrain(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.pretrain import pretrain

    facts = pretrain(cfg).facts
    keep = ("eval_mlm_accuracy", "eval_mlm_loss", "eval_nsp_accuracy", "initial_mlm_accuracy", "initial_nsp_accuracy")
    scores = {**facts["initial_metrics"], **facts["validation_metrics"]}
    _json({"output_dir": cfg.output_dir, **{k: scores[k] for k in keep if k in scores}})


def _general_distill(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.general_distill import general_distill

    facts = general_distill(cfg).facts
    _json(
        {
            "output_dir": cfg.output_dir,
            "initial_eval_loss": facts["initial_metrics"].get("initial_loss"),
            "eval_loss": facts["validation_metrics"].get("eval_loss"),
        }
    )


def _report(cfg: Any, args: argparse.Namespace) -> None:
    from distilkit.commands.report import report

    paths = report(cfg)
    print(f"report: {paths['html']}\nmarkdown: {paths['markdown']}")


COMMANDS: dict[str, tuple[type, Callable[[Any, argparse.Namespace], None], str]] = {
    "finetune": (C.FinetuneConfig, _finetune, "fine-tune an encoder for classification (makes a teacher)"),
    "distill": (C.DistillConfig, _distill, "distil a fine-tuned teacher into a smaller student"),
    "tune": (C.TuneConfig, _tune, "hyper-parameter search for distill on cached teacher outputs; writes the best recipe"),
    "augment": (C.AugmentConfig, _augment, "enlarge the training set with augmented, teacher-labelled copies"),
    "label": (C.LabelConfig, _label, "zero-shot teacher: label texts by embedding similarity, write --teacher-outputs"),
    "evaluate": (C.EvaluateConfig, _evaluate, "teacher vs student: quality, size, latency"),
    "predict": (C.PredictConfig, _predict, "label texts with a saved model (JSON lines)"),
    "export": (C.ExportConfig, _export, "export a classifier: HF copy, checked ONNX, ORT-optimised, int8 (scored)"),
    "bench": (C.BenchConfig, _bench, "latency, throughput and GFLOP/s vs matmul peak for each backend and the teacher"),
    "serve": (C.ServeConfig, _serve, "HTTP JSON service (FastAPI): POST /predict with micro-batching"),
    "loadtest": (C.LoadTestConfig, _loadtest, "bounded load test of a running serve (throughput, p95, failures)"),
    "ladder": (C.LadderConfig, _ladder, "distil a ladder of students from one teacher pass, time them, pick by score or latency"),
    "demo": (C.DemoConfig, _demo, "the whole chain on built-in defaults (Rotten Tomatoes)"),
    "pretrain": (C.PretrainConfig, _pretrain, "MLM (+NSP) pre-training on raw text, from scratch or continued"),
    "general-distill": (C.GeneralDistillConfig, _general_distill, "task-agnostic distillation on raw text (embeddings + hidden states)"),
    "report": (C.ReportConfig, _report, "HTML + Markdown report (plots) of finished runs"),
}


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
        usage = f"distilkit {name} [FLAGS]" + (" [TEXT ...]" if name == "predict" else " [RUN_DIR ...]" if name == "report" else "")
        p = sub.add_parser(name, help=help_, description=(cls.__doc__ or help_).strip(), usage=usage)
        C.add_config_arguments(p, cls)
        if name == "predict":
            p.add_argument("texts", nargs="*", help="texts to label")
        if name == "report":
            p.add_argument(
                "runs", nargs="*", default=argparse.SUPPRESS, metavar="RUN_DIR", help="finished run dirs (distill or finetune output dirs)"
            )
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # the command's own "did you mean", not the top-level usage
            command = _subparsers(parser).choices[args.command]
            command.error(C.unknown_flag_message(command, unknown))
    except SystemExit as exc:  # --help (0) or a usage error (2): a return code, as for every other outcome
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "urllib3", "filelock", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    quiet_replicas()  # torchrun / accelerate launch: rank 0 logs and prints, the others only warn
    cls, run, _ = COMMANDS[args.command]
    try:
        cfg = C.config_from_args(cls, args)
        from distilkit.modeling.zoo import check_model_name

        for flag, name in C.model_names(cfg):  # a mistyped path or an unreachable hub: one line now, not after retries
            check_model_name(name, flag)
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
        print(
            f"distilkit {args.command}: error: {exc.strerror}{where}: free space or fix permissions, then rerun "
            "(with --resume if a checkpoint was written)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(f"distilkit {args.command}: interrupted (rerun with --resume to continue from the last checkpoint)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

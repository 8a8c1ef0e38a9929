"""Every ```python block of README.md and docs/*.md runs, on tiny models and data.

The zoo names point at tiny local BERTs (``mpnet-base``: a small trained sentiment classifier, so a
teacher fine-tuned from it beats the majority class; ``minilm-l6``: a tiny random encoder), the
built-in ``rotten-tomatoes`` is the made-up sentiment set of ``conftest``, and the folders a page
assumes from earlier steps (``runs/teacher`` ...) are made for it. The blocks of one page run in
order in one namespace, in a fresh working folder. A block that cannot run here is preceded by
``<!-- doc-test: skip REASON -->``.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from conftest import make_classifier, make_encoder, sentiment_rows

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(?:<!-- doc-test: skip(?P<reason>[^>]*)-->\s*\n)?```python\n(?P<code>.*?)```", re.S)
# What a page assumes was made before its blocks: folder in the page -> which prepared run.
ASSUMED = {
    "docs/usage.md": {"runs/teacher": "teacher"},
    "docs/layer-distillation.md": {"runs/teacher": "teacher"},
    "docs/deploy.md": {"runs/student-export": "student"},
    "docs/report.md": {"runs/student": "student", "runs/nokd": "nokd"},
    "docs/static.md": {"runs/student": "static"},
}


def blocks(page: Path) -> list[tuple[str, str | None]]:
    """(code, skip reason or None) of each python block of ``page``."""
    return [(m["code"], None if m["reason"] is None else m["reason"].strip()) for m in BLOCK.finditer(page.read_text(encoding="utf-8"))]


PAGES_WITH_CODE = [p for p in PAGES if blocks(p)]


def test_the_pages_hold_examples_and_every_skip_says_why():
    names = {str(p.relative_to(ROOT)) for p in PAGES_WITH_CODE}
    assert {"README.md", "docs/usage.md", "docs/layer-distillation.md"} <= names
    for page in PAGES_WITH_CODE:
        assert all(reason != "" for _, reason in blocks(page)), f"{page.name}: a doc-test skip without a reason"
    assert blocks(ROOT / "README.md")[0][1] is None  # the quickstart runs


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("doc-zoo")
    return {"mpnet-base": make_classifier(root / "mpnet"), "minilm-l6": make_encoder(root / "minilm", layers=2, seed=1)}


@pytest.fixture(scope="module")
def prepared(
    tiny_teacher_dir: Path, tiny_classifier: Path, sentiment_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The runs a page assumes: a teacher, a distilled student and its labels-only counterpart."""
    import distilkit

    root = tmp_path_factory.mktemp("doc-runs")
    quick = dict(student_layers=2, max_steps=8, batch_size=16, max_length=32, learning_rate=1e-3, cache_dir=str(root / "cache"))
    runs = {"teacher": tiny_teacher_dir}
    for name, alpha in (("student", 0.5), ("nokd", 0.0)):
        run = distilkit.distill(
            teacher=str(tiny_teacher_dir), train_dataset=str(sentiment_csv), alpha=alpha, output_dir=str(root / name), **quick
        )
        runs[name] = Path(run.output_dir)
    static = distilkit.distill(
        teacher=str(tiny_teacher_dir),
        train_dataset=str(sentiment_csv),
        student="static",
        output_dir=str(root / "static"),
        **{k: v for k, v in quick.items() if k != "student_layers"},
    )
    runs["static"] = Path(static.output_dir)
    return runs


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_python_examples_run(page: Path, zoo, prepared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from distilkit.commands import distill as distill_module
    from distilkit.data import sources
    from distilkit.distillation.terms import BUILTIN_TERMS, TERMS
    from distilkit.modeling import zoo as zoo_module

    for name, path in zoo.items():
        monkeypatch.setitem(zoo_module._ZOO_RESOLVERS, name, lambda path=path: path)
    real_builtin = sources.load_builtin
    monkeypatch.setattr(sources, "load_builtin", lambda name: sentiment_rows(240) if name == "rotten-tomatoes" else real_builtin(name))
    real_distill = distill_module.distill  # the fair twin's 150-step floor is sized for real sets: 20 on these tiny ones
    monkeypatch.setattr(distill_module, "distill", lambda cfg, *a, **k: real_distill(dataclasses.replace(cfg, min_train_steps=20), *a, **k))
    monkeypatch.chdir(tmp_path)
    for folder, run in ASSUMED.get(str(page.relative_to(ROOT)), {}).items():
        shutil.copytree(prepared[run], tmp_path / folder)
    namespace: dict = {"__name__": "__doc_example__"}
    ran = 0
    try:
        for i, (code, skip) in enumerate(blocks(page)):
            if skip is None:
                exec(compile(code, f"{page.name}[python block {i + 1}]", "exec"), namespace)
                ran += 1
    finally:
        for name in set(TERMS) - BUILTIN_TERMS:  # a page's own loss terms go with it
            TERMS.pop(name)
    if ran == 0:  # every block says why it cannot run here (checked above) and where it is tested instead
        pytest.skip(f"{page.name}: " + "; ".join(reason or "" for _, reason in blocks(page)))

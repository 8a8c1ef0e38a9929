"""distilkit demo leaves its teacher where examples/*.yaml look for it (runs/demo/teacher)."""

from __future__ import annotations

from pathlib import Path

from distilkit.commands.demo import publish_teacher


def test_teacher_is_published_beside_the_student(tmp_path: Path):
    cached = tmp_path / "cache" / "teacher-abc"
    cached.mkdir(parents=True)
    (cached / "config.json").write_text("{}")
    link = publish_teacher(cached, tmp_path / "runs" / "demo" / "teacher")
    assert (link / "config.json").read_text() == "{}"
    other = tmp_path / "cache" / "teacher-def"  # a rerun with other settings: the link follows the new teacher
    other.mkdir()
    (other / "config.json").write_text('{"v": 2}')
    assert (publish_teacher(other, link) / "config.json").read_text() == '{"v": 2}'
    assert (cached / "config.json").is_file()  # the cached teacher itself is never touched

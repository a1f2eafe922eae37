"""Model folders travel between hosts through the shared models folder."""

from __future__ import annotations

from pathlib import Path

from config import load_settings
from storage.db import models_dir
from storage.shared_models import publish_models, pull_models


def _host(tmp_path: Path, name: str, shared: Path):  # type: ignore[no-untyped-def]
    return load_settings(
        {"SHOPREC_SHARED_MODELS_DIR": str(shared)}, data_dir=tmp_path / name / "data"
    )


def test_a_host_pulls_the_version_another_published(tmp_path: Path) -> None:
    shared = tmp_path / "shared-models"
    trainer, server = _host(tmp_path, "a", shared), _host(tmp_path, "b", shared)
    assert not models_dir(server, "demo").exists()  # nothing published yet

    trained = trainer.shop_dir("demo") / "models"
    trained.mkdir(parents=True)
    (trained / "manifest.json").write_text('{"v": 1}')
    first = publish_models(shared, "demo", trained)

    pulled = models_dir(server, "demo")
    assert (pulled / "manifest.json").read_text() == '{"v": 1}'
    assert pull_models(shared, "demo", pulled) is False  # already holds the current one

    (trained / "manifest.json").write_text('{"v": 2}')
    second = publish_models(shared, "demo", trained)
    assert second != first
    assert (models_dir(server, "demo") / "manifest.json").read_text() == '{"v": 2}'


def test_only_the_newest_versions_are_kept_in_the_shared_folder(tmp_path: Path) -> None:
    shared = tmp_path / "shared-models"
    trained = tmp_path / "a" / "models"
    trained.mkdir(parents=True)
    (trained / "manifest.json").write_text("{}")
    versions = [publish_models(shared, "demo", trained) for _ in range(4)]
    kept = sorted(p.name for p in (shared / "demo").iterdir() if p.is_dir())
    assert kept == versions[-2:]
    assert (shared / "demo" / "CURRENT").read_text() == versions[-1]

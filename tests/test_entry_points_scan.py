"""Entry points read from ``.dist-info`` directories are the ones importlib.metadata finds."""

from __future__ import annotations

import importlib.metadata as metadata
import zipfile
from pathlib import Path

from spine_host._entry_points import entry_points


def as_metadata(group: str) -> list[tuple[str, str, str, str | None]]:
    return sorted(
        (ep.name, ep.value, ep.dist.name, ep.dist.version)
        for ep in metadata.entry_points(group=group)
        if ep.dist is not None
    )


def as_scanned(group: str, path: list[str] | None = None) -> list[tuple[str, str, str, str | None]]:
    return sorted(
        (ep.name, ep.value, ep.dist.name, ep.dist.version) for ep in entry_points(group, path)
    )


def test_this_environment_gives_the_same_entry_points_for_several_groups() -> None:
    for group in ("spine", "console_scripts", "pytest11"):
        assert as_scanned(group) == as_metadata(group), group


def write_dist_info(site: Path, name: str, version: str, entry_points_txt: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        "Requires-Dist: spine-host>=0.1,<0.2\nRequires-Dist: requests>=2\n"
        "Description-Content-Type: text/markdown\n\n# {name}\n\nName: not a header\n"
    )
    (info / "entry_points.txt").write_text(entry_points_txt)


def test_the_first_distribution_of_a_name_on_the_path_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_dist_info(first, "spine-demo", "2.0", "[spine]\ndemo = demo_new\n")
    write_dist_info(second, "Spine.Demo", "1.0", "[spine]\ndemo = demo_old\n")

    (found,) = entry_points("spine", [str(first), str(second)])

    assert (found.name, found.value, found.dist.name, found.dist.version) == (
        "demo",
        "demo_new",
        "spine-demo",
        "2.0",
    )
    assert found.dist.requires == ["spine-host>=0.1,<0.2", "requests>=2"]


def test_sections_comments_and_extras_are_read_as_importlib_metadata_reads_them(
    tmp_path: Path,
) -> None:
    text = (
        "# generated\n[console_scripts]\ndemo = demo:main\n\n[spine]\n# a comment\n"
        "demo = json:dumps [extra]\nother=json.decoder : JSONDecoder\n"
    )
    write_dist_info(tmp_path, "spine-demo", "1.0", text)
    found = {ep.name: ep for ep in entry_points("spine", [str(tmp_path)])}

    assert sorted(found) == ["demo", "other"]
    assert found["demo"].load() is __import__("json").dumps
    assert found["other"].load() is __import__("json.decoder").decoder.JSONDecoder
    expected = sorted(
        (ep.name, ep.value)
        for ep in metadata.PathDistribution(tmp_path / "spine_demo-1.0.dist-info").entry_points
        if ep.group == "spine"
    )
    assert sorted((ep.name, ep.value) for ep in found.values()) == expected


def test_a_zip_on_the_path_is_read_through_importlib_metadata(tmp_path: Path) -> None:
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("spine_zipped-1.0.dist-info/METADATA", "Name: spine-zipped\nVersion: 1.0\n")
        zipped.writestr("spine_zipped-1.0.dist-info/entry_points.txt", "[spine]\nz = zmod\n")

    found = as_scanned("spine", [str(archive)])

    assert found == [("z", "zmod", "spine-zipped", "1.0")]


def test_an_egg_info_directory_is_read_through_importlib_metadata(tmp_path: Path) -> None:
    info = tmp_path / "spine_egg.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: spine-egg\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text("[spine]\negg = eggmod\n")
    (info / "requires.txt").write_text("spine-host>=0.1\n")

    (found,) = entry_points("spine", [str(tmp_path)])

    assert (found.name, found.dist.name, found.dist.version) == ("egg", "spine-egg", "0.3")
    assert found.dist.requires == ["spine-host>=0.1"]

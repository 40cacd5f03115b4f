"""Named subsets: members kept by (sample id, modality), so rows that come later or in another order
belong to them; kept in the project file, checked on load; old project files without them still load."""

import json

import numpy as np
import pytest

from mmstudio.core.project import Project, ProjectError, load_project, save_project
from mmstudio.core.subsets import Subset, Subsets, members_of
from mmstudio.core.tables.table import EmbeddingTable


def table(items):
    n = len(items)
    return EmbeddingTable(np.array([s for s, _ in items], object), np.array([m for _, m in items], object),
                          np.array([""] * n, object), np.array(["x"] * n, object), np.eye(n, 4, dtype=np.float32))


def test_membership_follows_sample_and_modality_not_row_numbers():
    shown = {"table": table([("a", "image"), ("b", "image"), ("c", "image")])}
    calls = []
    subsets = Subsets(lambda: shown["table"], lambda: calls.append(1))
    subsets.add("mine", members_of(shown["table"], [1, 2]), "#d62728")
    subsets.add("whole b", [("b", "")], "#1f77b4")
    assert subsets.rows("mine").tolist() == [1, 2] and len(calls) == 2
    # rows join (b's caption, d's image) and the old ones come in another order
    shown["table"] = table([("d", "image"), ("c", "image"), ("b", "text"), ("a", "image"), ("b", "image")])
    assert subsets.rows("mine").tolist() == [1, 4]            # c and b's image, wherever they are now
    assert subsets.rows("whole b").tolist() == [2, 4]         # every item of sample b, the new caption too
    assert list(subsets) == ["mine", "whole b"] and subsets["mine"].dtype == bool
    grown = table([*zip(shown["table"].sample_id, shown["table"].modality), ("b", "audio"), ("e", "text")])
    shown["table"] = grown     # rows appended: the masks grow by the new rows' own look-up
    assert subsets.rows("whole b").tolist() == [2, 4, 5] and subsets.rows("mine").tolist() == [1, 4]
    subsets.rename("mine", "  ours ")
    subsets.recolour("ours", "#2ca02c")
    assert list(subsets) == ["ours", "whole b"] and subsets.colour("ours") == "#2ca02c"
    with pytest.raises(ValueError, match="exists already"):
        subsets.rename("ours", "whole b")
    with pytest.raises(ValueError, match="needs a name"):
        subsets.add(" ", [], "#000000")
    subsets.remove("whole b")
    assert list(subsets) == ["ours"] and subsets.rows("ours").tolist() == [1, 4] and len(calls) == 5


def test_subsets_survive_a_project_round_trip_and_old_files_load_without_them(tmp_path):
    project = Project(subsets={"odd ones": Subset("#9467bd", [("s1", "image"), ("s2", "text"), ("s3", "")]),
                               "empty": Subset("#8c564b", [])})
    path = save_project(project, tmp_path / "p.mmstudio")
    data = json.loads(path.read_text())
    assert data["subsets"] == {"odd ones": {"colour": "#9467bd", "members": [["s1", "image"], ["s2", "text"], "s3"]},
                               "empty": {"colour": "#8c564b", "members": []}}
    loaded, problems = load_project(path)
    assert problems == [] and loaded.subsets == project.subsets
    del data["subsets"]   # a project written before subsets existed
    path.write_text(json.dumps(data))
    assert load_project(path)[0].subsets == {}


@pytest.mark.parametrize("subsets, reason", [
    ([], "subsets must be an object"),
    ({"a": ["s1"]}, "subsets.a must be an object with a colour and members"),
    ({"a": {"colour": "red", "members": []}}, 'subsets.a.colour must be "#rrggbb", not "red"'),
    ({"a": {"colour": "#ff0000"}}, "subsets.a.members must be a list, not null"),
    ({"a": {"colour": "#ff0000", "members": [["s1", 2]]}}, "subsets.a.members entries must be a sample id or"),
    ({"": {"colour": "#ff0000", "members": []}}, "subsets must have names"),
])
def test_a_bad_subsets_section_is_refused_naming_the_file_and_key(tmp_path, subsets, reason):
    path = tmp_path / "bad.mmstudio"
    path.write_text(json.dumps({"format": "mmstudio-project", "version": 1, "subsets": subsets}))
    with pytest.raises(ProjectError) as info:
        load_project(path)
    assert "bad.mmstudio" in str(info.value) and reason in str(info.value)

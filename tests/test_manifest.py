"""The shared manifest cache of the synthetic writers."""
from dataclasses import dataclass

from course_lib.data import manifest


@dataclass
class Settings:
    sizes: tuple = (3, 4)
    rate: float = 0.5


def test_params_compare_equal_after_a_json_round_trip(tmp_path):
    params = manifest.params_of(seed=0, generator=Settings())
    assert params == {"seed": 0, "generator": {"sizes": [3, 4], "rate": 0.5}}
    written = manifest.write(tmp_path / "m.json", params, ceiling=0.9)
    assert manifest.read(tmp_path / "m.json") == written == {"params": params, "ceiling": 0.9}


def test_current_needs_same_params_and_every_data_file(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("x\n")
    path = manifest.sidecar(data)
    assert path.name == "data.csv.synthetic.json"
    params = manifest.params_of(seed=1, generator=Settings())
    assert manifest.current(path, params, data) is None  # no manifest yet
    manifest.write(path, params)
    assert manifest.current(path, params, data)["params"] == params
    assert manifest.current(path, manifest.params_of(seed=2, generator=Settings()), data) is None
    assert manifest.current(path, params, data, tmp_path / "missing.npy") is None
    assert manifest.read(tmp_path / "real_data_has_none.json") is None

"""Every function without the FFmpeg layer imports its handler without PyAV, NumPy or Pillow:
in Lambda those come only with that layer, so such an import would fail at cold start (and
make API handlers slow to start). The handler modules are imported in a fresh interpreter in
which the three packages cannot be found."""

import json
import subprocess
import sys
from pathlib import Path

from local.template import function_properties, load, resources_of

ROOT = Path(__file__).resolve().parents[2]
MEDIA = ("av", "numpy", "PIL")
PROBE = """
import importlib, importlib.abc, json, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in MEDIA:
            raise ModuleNotFoundError(f"No module named {name!r} (not in this function's layers)")
sys.meta_path.insert(0, Refuse())
failures = {}
for module in json.loads(sys.argv[1]):
    try:
        importlib.import_module(module)
    except Exception as error:
        failures[module] = f"{type(error).__name__}: {error}"
print(json.dumps(failures))
""".replace("MEDIA", repr(MEDIA))


def test_functions_without_the_ffmpeg_layer_never_import_media_libraries() -> None:
    template = load()
    modules = sorted({
        function_properties(template, name)["Handler"].rsplit(".", 1)[0].replace("/", ".")
        for name in resources_of(template, "AWS::Serverless::Function")
        if {"Ref": "FfmpegLayer"} not in function_properties(template, name).get("Layers", [])
    })
    assert "api.tasks_annotations_read" in modules and len(modules) > 30
    answer = subprocess.run([sys.executable, "-c", PROBE, json.dumps(modules)], cwd=ROOT, capture_output=True,
                            text=True, check=True, env={"PYTHONPATH": f"{ROOT}:{ROOT / 'functions'}", "PATH": ""})
    assert json.loads(answer.stdout.strip().splitlines()[-1]) == {}

"""Import time of every API handler module, each in a fresh interpreter (a Lambda cold start
imports the handler module first), and whether it pulls in PyAV, NumPy or Pillow.

    python bench/bench_imports.py

The interpreter is a virtual environment holding only what the shared layer holds
(shared/requirements.txt, created once in .venv-layer), because the development environment
has more (aws-sam-cli brings boto3's CRT, which makes botocore slower to import).
"""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEDIA_HANDLERS = {"tasks_data_read"}  # serves frames: may import media libraries when it needs them
PROBE = """
import json, sys, time
start = time.perf_counter()
import importlib
importlib.import_module(sys.argv[1])
elapsed = time.perf_counter() - start
print(json.dumps({"ms": elapsed * 1000, "heavy": sorted(m for m in ("av", "numpy", "PIL") if m in sys.modules)}))
"""
ENV = {"TASKS_TABLE": "t", "JOBS_TABLE": "j", "COUNTERS_TABLE": "c", "SESSIONS_TABLE": "s",
       "IDEMPOTENCY_TABLE": "i", "MEDIA_BUCKET": "b", "USER_POOL_ID": "p", "USER_POOL_CLIENT_ID": "c",
       "CREATE_TASK_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:1:stateMachine:x", "AWS_DEFAULT_REGION": "us-east-1",
       "POWERTOOLS_TRACE_DISABLED": "false"}


LAYER_VENV = ROOT / ".venv-layer"


def layer_python() -> str:
    python = LAYER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LAYER_VENV)], check=True)
        requirements = ROOT / "shared" / "requirements.txt"
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(requirements)], check=True)
    return str(python)


def measure(python: str, module: str, runs: int = 3) -> tuple[float, list[str]]:
    env = {**os.environ, **ENV, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'functions'}", "PYTHONDONTWRITEBYTECODE": "0"}
    samples, heavy = [], []
    for _ in range(runs + 1):  # the first run also writes the bytecode caches, as a deployed package has them
        result = json.loads(subprocess.run([python, "-c", PROBE, module], env=env, capture_output=True,
                                           text=True, check=True).stdout)
        samples.append(result["ms"])
        heavy = result["heavy"]
    return statistics.median(samples[1:]), heavy


def main() -> None:
    python = layer_python()
    print("import time of API handler modules (median of 3 fresh interpreters, warm bytecode cache,")
    print("with the shared layer's packages only)")
    worst = 0.0
    for path in sorted((ROOT / "functions" / "api").glob("*.py")):
        if path.stem == "__init__":
            continue
        ms, heavy = measure(python, f"api.{path.stem}")
        note = "" if path.stem in MEDIA_HANDLERS else "  <- imports media libraries!" if heavy else ""
        worst = max(worst, ms)
        print(f"  {path.stem:22s} {ms:7.1f} ms   media libraries: {', '.join(heavy) or 'none'}{note}")
    print(f"  slowest: {worst:.1f} ms (goal: under 300 ms, no av/numpy/PIL outside media handlers)")


if __name__ == "__main__":
    main()

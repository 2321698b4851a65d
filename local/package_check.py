"""After `sam build`: the unzipped size of every function with its layers must stay under
Lambda's 250 MB limit. Prints the sizes; exits non-zero when a function is over."""

import sys
from pathlib import Path

from local.template import load, resources_of

LIMIT = 250 * 1024 * 1024


def tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main(build_dir: str = ".aws-sam/build") -> int:
    build = Path(build_dir)
    template = load(build / "template.yaml")
    layers = {name: tree_size(build / name) for name in resources_of(template, "AWS::Serverless::LayerVersion")}
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    worst = 0
    for name, resource in sorted(resources_of(template, "AWS::Serverless::Function").items()):
        used = [ref["Ref"] for ref in global_layers + resource["Properties"].get("Layers", []) if "Ref" in ref]
        total = tree_size(build / name) + sum(layers[layer] for layer in used)
        worst = max(worst, total)
        print(f"{name:28s} {total / 2**20:7.1f} MB  (layers: {', '.join(used) or '-'})")
    for name, size in layers.items():
        print(f"{name:28s} {size / 2**20:7.1f} MB  (layer)")
    print(f"largest function with its layers: {worst / 2**20:.1f} MB of {LIMIT / 2**20:.0f} MB")
    return 0 if worst <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

"""Reads template.yaml (CloudFormation tags included) and resolves the intrinsic functions the
template uses, so the local runtime builds exactly what the deployment declares."""

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

_SCALAR_TAGS = ("Ref", "Condition")
_SEQUENCE_TAGS = ("Sub", "GetAtt", "Join", "Select", "Split", "If", "Equals", "Not", "And", "Or",
                  "FindInMap", "Base64", "Cidr", "GetAZs", "ImportValue")


class _Loader(yaml.SafeLoader):
    pass


def _tag(name: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    key = name if name in _SCALAR_TAGS else f"Fn::{name}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _name in (*_SCALAR_TAGS, *_SEQUENCE_TAGS):
    _Loader.add_constructor(f"!{_name}", _tag(_name))


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_Loader)


@dataclass
class Context:
    """What intrinsic functions resolve against: pseudo parameters, parameters, and the
    physical ids and attributes of resources created so far."""

    stack_name: str
    account_id: str = "123456789012"
    region: str = "us-east-1"
    stack_uuid: str = "0b5d8a3e-1c2f-4a6b-9d7e-5f4c3b2a1908"
    parameters: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/"
                            f"{self.stack_name}/{self.stack_uuid}",
        }


def resolve(value: Any, context: Context) -> Any:
    if isinstance(value, list):
        return [resolve(v, context) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, argument), = value.items()
        function = _FUNCTIONS.get(key)
        if function is not None:
            return function(argument, context)
    return {k: resolve(v, context) for k, v in value.items()}


def _ref(name: str, context: Context) -> str:
    pseudo = context.pseudo()
    if name in pseudo:
        return pseudo[name]
    if name in context.parameters:
        return str(context.parameters[name])
    if name in context.refs:
        return context.refs[name]
    raise KeyError(f"Ref {name}: not created (yet) by the local runtime")


def _sub(argument: Any, context: Context) -> str:
    if isinstance(argument, list):
        text, variables = argument[0], {k: resolve(v, context) for k, v in argument[1].items()}
    else:
        text, variables = argument, {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return str(variables[name])
        if "." in name and not name.startswith("AWS::"):
            return _get_att(name.split(".", 1), context)
        return _ref(name, context)

    return re.sub(r"\$\{([^}!]+)\}", replace, text)


def _get_att(argument: list[str], context: Context) -> str:
    resource, attribute = argument
    try:
        return context.attributes[(resource, attribute)]
    except KeyError:
        raise KeyError(f"GetAtt {resource}.{attribute}: unknown to the local runtime") from None


_FUNCTIONS: dict[str, Callable[[Any, Context], Any]] = {
    "Ref": lambda a, c: _ref(a, c),
    "Fn::Sub": _sub,
    "Fn::GetAtt": lambda a, c: _get_att(a, c),
    "Fn::Join": lambda a, c: str(a[0]).join(str(x) for x in resolve(a[1], c)),
    "Fn::Select": lambda a, c: resolve(a[1], c)[int(resolve(a[0], c))],
    "Fn::Split": lambda a, c: str(resolve(a[1], c)).split(a[0]),
}


def parameter_defaults(template: dict[str, Any]) -> dict[str, Any]:
    return {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def function_properties(template: dict[str, Any], name: str) -> dict[str, Any]:
    """A function's properties with the Globals merged in (maps merged, lists appended)."""
    merged = copy.deepcopy(template.get("Globals", {}).get("Function", {}))
    for key, value in template["Resources"][name].get("Properties", {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = merged[key] + value
        else:
            merged[key] = value
    return merged


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in extra.items():
        result[key] = _merge(result[key], value) if isinstance(value, dict) and isinstance(
            result.get(key), dict) else value
    return result

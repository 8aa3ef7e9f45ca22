"""terraform/ read with python-hcl2: every block of a module by kind, and a small evaluator
for the expressions the checks follow (locals, merge(), object literals, variable defaults
and validations)."""

import re
import textwrap
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import hcl2

ROOT = Path(__file__).resolve().parents[3]
TERRAFORM = ROOT / "terraform"
MODULES = TERRAFORM / "modules"
PROD = TERRAFORM / "environments" / "prod"
OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, with_comments=False, explicit_blocks=False
)


# --- Loading --------------------------------------------------------------------------------


@dataclass
class Module:
    """Every block of the .tf files of one directory, by kind."""

    path: Path
    resources: dict = field(default_factory=dict)  # (type, name) -> body
    data: dict = field(default_factory=dict)  # (type, name) -> body
    locals: dict = field(default_factory=dict)
    variables: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    calls: dict = field(default_factory=dict)  # module name -> body
    terraform: list = field(default_factory=list)

    def of_type(self, kind: str) -> dict:
        return {name: body for (t, name), body in self.resources.items() if t == kind}

    def default(self, name: str):
        return self.variables[name].get("default")


def parse(text: str) -> dict:
    return hcl2.loads(text, serialization_options=OPTIONS)


def load_module(path: Path) -> Module:
    module = Module(path)
    for tf in sorted(path.glob("*.tf")):
        tree = parse(tf.read_text())
        for block in tree.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    module.resources[(kind, name)] = body
        for block in tree.get("data", []):
            for kind, named in block.items():
                for name, body in named.items():
                    module.data[(kind, name)] = body
        for block in tree.get("locals", []):
            module.locals.update(block)
        for block in tree.get("variable", []):
            module.variables.update(block)
        for block in tree.get("output", []):
            module.outputs.update(block)
        for block in tree.get("module", []):
            module.calls.update(block)
        module.terraform += tree.get("terraform", [])
    return module


@cache
def modules() -> dict[str, Module]:
    found = {p.name: load_module(p) for p in sorted(MODULES.iterdir()) if p.is_dir()}
    found["prod"] = load_module(PROD)
    return found


def module_from(tmp_path: Path, hcl: str) -> Module:
    (tmp_path / "main.tf").write_text(textwrap.dedent(hcl))
    return load_module(tmp_path)


# --- A small evaluator for the expressions the checks follow --------------------------------


class Unresolvable(Exception):
    pass


def unwrap(value) -> str | None:
    """The expression inside "${...}" when the whole string is one interpolation, else None."""
    if not (isinstance(value, str) and value.startswith("${") and value.endswith("}")):
        return None
    depth, quoted, escaped = 0, False, False
    for i, char in enumerate(value):
        if quoted:
            escaped, quoted = (not escaped and char == "\\"), quoted and (escaped or char != '"')
            continue
        if char == '"':
            quoted = True
        elif char in "{([":
            depth += 1
        elif char in "})]":
            depth -= 1
            if depth == 0 and i != len(value) - 1:
                return None  # "${a}-${b}": a template, not one expression
    return value[2:-1].strip()


def split_arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments of a function call's argument list."""
    parts, depth, quoted, escaped, start = [], 0, False, False, 0
    for i, char in enumerate(text):
        if quoted:
            escaped, quoted = (not escaped and char == "\\"), quoted and (escaped or char != '"')
            continue
        if char == '"':
            quoted = True
        elif char in "{([":
            depth += 1
        elif char in "})]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if text[start:].strip():
        parts.append(text[start:].strip())
    return parts


def expression(text: str):
    """Parse one HCL expression (an object or tuple literal comes back as dict/list)."""
    return parse(f"x = {text}\n")["x"]


def resolve_map(value, module: Module) -> tuple[dict, list[str]]:
    """A map-valued expression as (known entries, names of variables merged into it)."""
    if isinstance(value, dict):
        return value, []
    inner = unwrap(value)
    if inner is None:
        raise Unresolvable(repr(value))
    if m := re.fullmatch(r"local\.(\w+)", inner):
        return resolve_map(module.locals[m[1]], module)
    if m := re.fullmatch(r"var\.(\w+)", inner):
        return {}, [m[1]]
    if inner.startswith("merge(") and inner.endswith(")"):
        merged, variables = {}, []
        for argument in split_arguments(inner[len("merge(") : -1]):
            entries, names = resolve_map("${" + argument + "}", module)
            merged.update(entries)
            variables += names
        return merged, variables
    if inner.startswith("{"):
        return resolve_map(expression(inner), module)
    raise Unresolvable(inner)


def resolve_value(value, module: Module):
    """A scalar: literals as they are, var.X as its default, local.X followed."""
    inner = unwrap(value)
    if inner is None:
        return value
    if m := re.fullmatch(r"var\.(\w+)", inner):
        return module.default(m[1])
    if m := re.fullmatch(r"local\.(\w+)", inner):
        return resolve_value(module.locals[m[1]], module)
    raise Unresolvable(inner)


def for_collection(value) -> tuple[str, str] | None:
    """For `[for k, v in COLL : {name = k, value = v}]`: (COLL, "value"/"valueFrom")."""
    inner = unwrap(value)
    if inner is None:
        return None
    m = re.fullmatch(
        r"\[for (\w+), (\w+) in (.+) : \{name = \1, (value|valueFrom) = \2\}\]", inner, re.S
    )
    return (m[3], m[4]) if m else None


def validation_conditions(module: Module, variable: str) -> str:
    blocks = module.variables.get(variable, {}).get("validation", [])
    return " ".join(block.get("condition", "") for block in blocks)

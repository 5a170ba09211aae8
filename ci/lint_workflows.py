#!/usr/bin/env python3
"""Checks of ci/lint-workflows that actionlint does not make.

  lint_workflows.py no-event-expansions FILE...
      No `${{ github.event.* }}` nor `${{ inputs.* }}` inside a `run:` script of the
      workflows or the composite action: values reach scripts through `env:`.
      actionlint flags only the event fields it knows to be attacker-controlled;
      irgate's rule is stricter.

  lint_workflows.py action-workflow ACTION_YML OUT_YML
      Checks the composite action's metadata (composite, every `run:` step names its
      shell, outputs refer to existing step ids, inputs are described), then writes a
      workflow whose `workflow_call` inputs mirror the action's inputs and whose one
      job holds the action's steps, for actionlint to lint.

Exit 0 when clean, 1 with one line per problem on stderr, 2 on bad usage.
"""
import os
import re
import sys

import yaml

BAD_EXPANSION = re.compile(r"\$\{\{[^}]*\b(github\.event|inputs)\.")


def steps_of(doc):
    """The steps of a composite action or of every job of a workflow."""
    if "runs" in doc:
        yield from (doc.get("runs") or {}).get("steps") or []
    for job in (doc.get("jobs") or {}).values():
        yield from (job or {}).get("steps") or []


def no_event_expansions(paths):
    errors = []
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        for step in steps_of(doc):
            script = step.get("run")
            if isinstance(script, str) and BAD_EXPANSION.search(script):
                name = step.get("name", "(unnamed step)")
                errors.append(
                    f"{path}: step `{name}` expands an event or input value inside run:; pass it through env:"
                )
    return errors


def action_workflow(src, dst):
    with open(src, encoding="utf-8") as f:
        action = yaml.safe_load(f)

    errors = []
    for key in ("name", "description", "runs"):
        if key not in action:
            errors.append(f"{src}: missing top-level `{key}`")
    runs = action.get("runs") or {}
    if runs.get("using") != "composite":
        errors.append(f"{src}: runs.using must be `composite`")
    steps = runs.get("steps") or []
    ids = set()
    for i, step in enumerate(steps, 1):
        name = step.get("name", f"step {i}")
        if "run" in step and "shell" not in step:
            errors.append(f"{src}: step `{name}` has `run:` but no `shell:` (required in composite actions)")
        if "run" not in step and "uses" not in step:
            errors.append(f"{src}: step `{name}` has neither `run:` nor `uses:`")
        if "id" in step:
            ids.add(step["id"])
    inputs = action.get("inputs") or {}
    for name, spec in inputs.items():
        if not (spec or {}).get("description"):
            errors.append(f"{src}: input `{name}` has no description")
    outputs = action.get("outputs") or {}
    for name, spec in outputs.items():
        value = str((spec or {}).get("value", ""))
        if "steps." in value:
            step_id = value.split("steps.", 1)[1].split(".", 1)[0]
            if step_id not in ids:
                errors.append(f"{src}: output `{name}` refers to unknown step id `{step_id}`")
    if errors:
        return errors

    workflow = {
        "name": f"{src} (composite steps)",
        "on": {
            "workflow_call": {
                "inputs": {
                    name: {
                        "description": (spec or {}).get("description", name),
                        "type": "string",
                        "required": False,
                        "default": str((spec or {}).get("default", "")),
                    }
                    for name, spec in inputs.items()
                }
            }
        },
        "permissions": {"contents": "read"},
        "jobs": {
            "composite": {
                "runs-on": "ubuntu-latest",
                "outputs": {name: str(spec.get("value", "")) for name, spec in outputs.items()},
                "steps": steps,
            }
        },
    }
    with open(dst, "w", encoding="utf-8") as f:
        yaml.safe_dump(workflow, f, sort_keys=False, width=1000)
    return []


def main(argv):
    if len(argv) >= 2 and argv[1] == "no-event-expansions":
        errors = no_event_expansions(argv[2:])
    elif len(argv) == 4 and argv[1] == "action-workflow":
        errors = action_workflow(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""What one `Custom::ServiceLinkedRole` may hold, for the templates' checks and the
documentation's: the property names the handler reads, and a ServiceTimeout that lets the
function's own deadline come first. Standard library only, so that the docs' checks import it
wherever they run."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Above the longest function timeout the SAM app allows, so that the function's own deadline
# always comes first; at most CloudFormation's limit.
MAX_FUNCTION_TIMEOUT = 900
MAX_SERVICE_TIMEOUT = 3600


def accepted_properties() -> set[str]:
    """Property names the handler reads (handler/role/properties.rs), plus the two it ignores."""
    source = (ROOT / "handler/role/properties.rs").read_text()
    names = set()
    for group in re.findall(r"const [A-Z_]+: \[&str; \d+\] = \[([^\]]*)\];", source):
        names.update(re.findall(r'"([^"]+)"', group))
    if "AWSServiceName" not in names:
        raise RuntimeError(f"could not read property names from properties.rs: {names}")
    return names | {"ServiceToken", "ServiceTimeout"}


def service_timeout_problems(where, value, parameters) -> list[str]:
    """A custom resource without ServiceTimeout waits an hour for a function that never ran."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
        value = parameters[value["Ref"]].get("Default")
    if value is None:
        return [f"{where}: ServiceTimeout is not set"]
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return [f"{where}: ServiceTimeout {value!r} is not a number of seconds"]
    if MAX_FUNCTION_TIMEOUT < seconds <= MAX_SERVICE_TIMEOUT:
        return []
    return [
        f"{where}: ServiceTimeout {seconds} must be above the function's longest timeout "
        f"({MAX_FUNCTION_TIMEOUT} s) and at most {MAX_SERVICE_TIMEOUT}"
    ]

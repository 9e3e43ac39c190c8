"""Every call into a private part of the runtimes, LiteRT and TFLite-Micro, in one place (the
converters' are in converter_adapters.py, so that the runtime never reaches them).

These libraries give no public way to do a few things edge-har needs (invoke LiteRT while
numpy views of its tensors are held, list a model's operators, count TFLite-Micro's inputs).
The versions these calls were verified with are capped in pyproject.toml; `problems()` checks
that each one is still where it was, and a test turns a change into a clear failure instead of
an AttributeError deep in a stream.
"""

from __future__ import annotations

from pathlib import Path

from ..core.native import quiet_native_output


def litert_invoke(interpreter):
    """LiteRT's C++ Invoke, which, unlike `Interpreter.invoke()`, runs while numpy views of the
    tensors are alive. edge-har's models have fixed shapes and are allocated once, so the views
    stay valid, and each input and output costs one memory copy instead of a set/get call."""
    return interpreter._interpreter.Invoke


def litert_op_names(interpreter) -> list[str]:
    """The operator names of a LiteRT model (delegate nodes left out)."""
    return sorted({op["op_name"] for op in interpreter._get_ops_details() if op["op_name"] != "DELEGATE"})


def tflm_input_count(interpreter) -> int:
    """TFLite-Micro's Python interpreter has no input count; probe until an index is refused."""
    count = 0
    with quiet_native_output():  # the refusal is also printed by the C++ side
        while True:
            try:
                interpreter.get_input_details(count)
            except (IndexError, RuntimeError, ValueError):
                return count
            count += 1


def check(found: list[str], name: str, attempt) -> None:
    """Run `attempt`; note in `found` how a private API it calls has changed."""
    try:
        attempt()
    except Exception as err:  # any change of a private API shows up as some exception
        found.append(f"{name}: {type(err).__name__}: {err}")


def problems(tflite_path: Path) -> list[str]:
    """What no longer works as this module expects, for an int8 .tflite model with one input or
    more (the converters' side: `converter_adapters.converter_problems`)."""
    from importlib.metadata import version

    from ai_edge_litert.interpreter import Interpreter
    from tflite_micro import runtime

    found: list[str] = []
    with quiet_native_output():
        litert = Interpreter(model_path=str(tflite_path))
        litert.allocate_tensors()
    check(found, f"ai-edge-litert {version('ai-edge-litert')} Interpreter._interpreter.Invoke",
          lambda: callable(litert_invoke(litert)) or _fail("not callable"))
    check(found, f"ai-edge-litert {version('ai-edge-litert')} Interpreter._get_ops_details",
          lambda: litert_op_names(litert) or _fail("no operators listed"))
    check(found, f"tflite-micro {version('tflite-micro')} input probing",
          lambda: tflm_input_count(runtime.Interpreter.from_file(str(tflite_path), arena_size=1 << 20))
          == len(litert.get_input_details()) or _fail("wrong input count"))
    return found


def _fail(message: str):
    raise AssertionError(message)

"""Every call into a private part of the converters (torchao, litert-torch), in one place, as
`adapters.py` holds the runtimes' (versions capped in pyproject.toml). Training install only."""

from __future__ import annotations

from importlib.metadata import version

from ..runtime.adapters import _fail, check


def final_annotation(input_qspec_map: dict, output_qspec):
    """A torchao PT2E annotation that other annotators must leave alone (`_annotated`)."""
    from torchao.quantization.pt2e.quantizer import QuantizationAnnotation

    return QuantizationAnnotation(input_qspec_map=input_qspec_map, output_qspec=output_qspec, _annotated=True)


def litert_activation_qspecs(config):
    """litert-torch's input and output activation specs for a quantization config."""
    from litert_torch.quantize.pt2e_quantizer_utils import get_input_act_qspec, get_output_act_qspec

    return get_input_act_qspec(config), get_output_act_qspec(config)


def converter_problems() -> list[str]:
    """What no longer works as this module expects in torchao and litert-torch."""
    found: list[str] = []
    check(found, f"torchao {version('torchao')} QuantizationAnnotation(_annotated=...)",
          lambda: final_annotation({}, None)._annotated or _fail("not kept"))
    check(found, f"litert-torch {version('litert-torch')} pt2e_quantizer_utils activation specs", _litert_qspecs)
    return found


def _litert_qspecs() -> None:
    from litert_torch.quantize import pt2e_quantizer

    config = pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False)
    if None in litert_activation_qspecs(config):
        _fail("no activation spec")

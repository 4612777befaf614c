"""What an ONNX file may contain, checked on the parsed protobuf before onnxruntime sees it.

The contract refuses external data files (they would let a model read arbitrary paths) and
custom operator domains (they need code we would have to load, or run onnxruntime's contrib
kernels we never reviewed). Both rules apply to every place a node or tensor can hide: the main
graph, subgraphs of control-flow nodes (``If`` branches, ``Loop``/``Scan`` bodies, nested to any
depth), and the model's local functions (``model.functions``), which may call one another and
hold subgraphs of their own. onnxruntime inlines local functions, so a custom op inside one runs
exactly as if it sat in the main graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gir_core.errors import ContractError, ModelFormatError

STANDARD_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training"}
_NAME_CHARS = 60


def static_checks(data: bytes) -> Any:
    """Parse ``data`` as ONNX (without external data) and refuse forbidden features.

    Raises ModelFormatError for an unparsable file and ContractError, naming the node and where
    it sits, for external data or a custom op domain anywhere in the model.
    """
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise ModelFormatError(f"the ONNX file is truncated or damaged ({error})") from None
    if not model.graph.node:
        raise ModelFormatError("the ONNX file holds no graph nodes (truncated or empty)")
    bodies = list(_bodies(model))
    for body, where in bodies:
        _refuse_external_data(body, where)
    for body, where in bodies:
        for node in body.node:
            if node.domain not in STANDARD_DOMAINS:
                raise ContractError(
                    f"ONNX uses custom op domain {_name(node.domain)} "
                    f"(node {_name(node.op_type, quote=False)} in {where})"
                )
    _refuse_custom_imports(model)
    return model


def _bodies(model: Any) -> Iterator[tuple[Any, str]]:
    """Every graph and function body in ``model`` with a phrase saying where it sits."""
    yield from _graph_and_subgraphs(model.graph, "the main graph")
    for function in model.functions:
        where = f"local function {_name(function.name)}"
        yield function, where
        # A function's attribute defaults may hold graphs too (bound through ref_attr_name).
        for owner, attributes in _attribute_lists(function):
            yield from _subgraphs(owner, attributes, where)


def _graph_and_subgraphs(graph: Any, where: str) -> Iterator[tuple[Any, str]]:
    yield graph, where
    for owner, attributes in _attribute_lists(graph):
        yield from _subgraphs(owner, attributes, where)


def _attribute_lists(body: Any) -> Iterator[tuple[str, Any]]:
    """(who holds them, attributes) for each node of ``body`` and a function's defaults."""
    for node in body.node:
        yield f"a {_name(node.op_type, quote=False)} node", node.attribute
    yield "its attribute defaults", getattr(body, "attribute_proto", ())


def _subgraphs(owner: str, attributes: Any, where: str) -> Iterator[tuple[Any, str]]:
    for attribute in attributes:
        graphs = [attribute.g] if attribute.HasField("g") else []
        graphs += list(attribute.graphs)
        inner = f"the {_name(attribute.name, quote=False)} of {owner} in {where}"
        for graph in graphs:
            yield from _graph_and_subgraphs(graph, inner)


def _refuse_external_data(body: Any, where: str) -> None:
    import onnx

    tensors = list(getattr(body, "initializer", ()))
    tensors += [sparse.values for sparse in getattr(body, "sparse_initializer", ())]
    for _, attributes in _attribute_lists(body):
        for attribute in attributes:
            tensors += [attribute.t] if attribute.HasField("t") else []
            tensors += list(attribute.tensors)
            if attribute.HasField("sparse_tensor"):
                tensors.append(attribute.sparse_tensor.values)
    for tensor in tensors:
        if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data:
            raise ContractError(
                f"ONNX references external data files, which are not accepted (in {where})"
            )


def _refuse_custom_imports(model: Any) -> None:
    """Opset imports of the model and of each local function name standard domains only."""
    for opset in model.opset_import:
        if opset.domain not in STANDARD_DOMAINS:
            raise ContractError(f"ONNX uses custom op domain {_name(opset.domain)}")
    for function in model.functions:
        for opset in function.opset_import:
            if opset.domain not in STANDARD_DOMAINS:
                raise ContractError(
                    f"ONNX uses custom op domain {_name(opset.domain)} "
                    f"(imported by local function {_name(function.name)})"
                )


def _name(text: str, *, quote: bool = True) -> str:
    """A model-chosen name, bounded, for a sentence shown to the model's owner."""
    short = text if len(text) <= _NAME_CHARS else text[: _NAME_CHARS - 1] + "…"
    return f"'{short}'" if quote else short

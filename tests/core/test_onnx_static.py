"""Custom ops and external data are refused wherever they hide: local functions and subgraphs.

The models are built here with ``onnx.helper``. The first test shows that the local-function
model is a real attack — onnxruntime runs its contrib op — so the refusal is what stops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from gir_core.contract import check_model, probe_image
from gir_core.errors import ContractError
from gir_core.runners.onnx_static import static_checks
from gir_core.sandbox import SandboxedModel, SandboxLimits

FAST = SandboxLimits(memory_mb=1536, image_seconds=5.0, load_seconds=60.0, total_seconds=120.0)
# A standard domain onnxruntime resolves local functions in: the attacker's hiding place.
FUNCTIONS = "ai.onnx.preview.training"
OPSET = helper.make_opsetid("", 17)


def _io() -> tuple[list[onnx.ValueInfoProto], list[onnx.ValueInfoProto]]:
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "h", "w"])
    return [x], [y]


def _gelu(inp: str, out: str) -> onnx.NodeProto:
    """onnxruntime's contrib Gelu: a custom-domain op that needs no extra library to run."""
    return helper.make_node("Gelu", [inp], [out], domain="com.microsoft")


def _function(name: str, nodes: list[onnx.NodeProto]) -> onnx.FunctionProto:
    imports = [OPSET, helper.make_opsetid(FUNCTIONS, 1)]
    imports += [helper.make_opsetid(d, 1) for d in {n.domain for n in nodes} - {"", FUNCTIONS}]
    return helper.make_function(FUNCTIONS, name, ["a"], ["b"], nodes, imports)


def _model(
    nodes: list[onnx.NodeProto],
    functions: Sequence[onnx.FunctionProto] = (),
    initializers: Sequence[onnx.TensorProto] = (),
) -> bytes:
    graph = helper.make_graph(nodes, "g", *_io(), list(initializers))
    imports = [OPSET, helper.make_opsetid(FUNCTIONS, 1)] if functions else [OPSET]
    model = helper.make_model(graph, opset_imports=imports, ir_version=8, functions=list(functions))
    return bytes(model.SerializeToString())


def _call(name: str) -> onnx.NodeProto:
    return helper.make_node(name, ["input"], ["output"], domain=FUNCTIONS)


def _branches(
    then_nodes: list[onnx.NodeProto], else_nodes: list[onnx.NodeProto]
) -> list[onnx.NodeProto]:
    """``output = If(mean(input) > 2) then … else …``, each branch reading ``input``."""
    out = helper.make_tensor_value_info("output_b", TensorProto.FLOAT, None)
    then_graph = helper.make_graph(then_nodes, "then", [], [out])
    else_graph = helper.make_graph(else_nodes, "else", [], [out])
    return [
        helper.make_node("ReduceMean", ["input"], ["mean"], keepdims=0),
        helper.make_node("Greater", ["mean", "two"], ["cond"]),
        helper.make_node(
            "If", ["cond"], ["output"], then_branch=then_graph, else_branch=else_graph
        ),
    ]


TWO = numpy_helper.from_array(np.array(2.0, np.float32), "two")


def custom_op_in_function() -> bytes:
    return _model([_call("Shifty")], [_function("Shifty", [_gelu("a", "b")])])


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    return path


def test_custom_op_inside_a_local_function_is_refused(tmp_path: Path) -> None:
    data = custom_op_in_function()
    # The hole: onnxruntime inlines the function and runs the contrib op.
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    ran = session.run(None, {"input": np.ones((1, 3, 2, 2), np.float32)})[0]
    assert np.allclose(ran, 0.8413447)  # gelu(1)
    with pytest.raises(ContractError) as caught:
        check_model(_file(tmp_path, data), limits=FAST)
    assert str(caught.value) == (
        "ONNX uses custom op domain 'com.microsoft' (node Gelu in local function 'Shifty')"
    )


def test_custom_op_in_a_function_called_by_a_function_is_refused() -> None:
    inner = _function("Inner", [_gelu("a", "b")])
    outer = _function("Outer", [helper.make_node("Inner", ["a"], ["b"], domain=FUNCTIONS)])
    with pytest.raises(ContractError) as caught:
        static_checks(_model([_call("Outer")], [outer, inner]))
    assert "custom op domain 'com.microsoft' (node Gelu in local function 'Inner')" in str(
        caught.value
    )


def test_custom_op_inside_an_if_branch_is_refused(tmp_path: Path) -> None:
    nodes = _branches(
        [_gelu("input", "output_b")], [helper.make_node("Neg", ["input"], ["output_b"])]
    )
    data = _model(nodes, initializers=[TWO])
    with pytest.raises(ContractError) as caught:
        check_model(_file(tmp_path, data), limits=FAST)
    assert str(caught.value) == (
        "ONNX uses custom op domain 'com.microsoft' "
        "(node Gelu in the then_branch of a If node in the main graph)"
    )


def test_custom_op_in_a_branch_inside_a_loop_inside_a_function_is_refused() -> None:
    branch = _branches([helper.make_node("Neg", ["a"], ["output_b"])], [_gelu("a", "output_b")])
    for node in branch:  # the same If, reading the function's input
        node.input[:] = ["a" if name == "input" else name for name in node.input]
    branch[-1].output[:] = ["c"]
    body_in = [
        helper.make_tensor_value_info("i", TensorProto.INT64, []),
        helper.make_tensor_value_info("keep", TensorProto.BOOL, []),
    ]
    body_out = [
        helper.make_tensor_value_info("keep_out", TensorProto.BOOL, []),
        helper.make_tensor_value_info("c", TensorProto.FLOAT, None),
    ]
    keep = helper.make_node("Identity", ["keep"], ["keep_out"])
    body = helper.make_graph([*branch, keep], "body", body_in, body_out)
    loop = helper.make_node("Loop", ["", "true"], ["b"], body=body)
    function = _function("Looper", [helper.make_node("Constant", [], ["true"], value_int=1), loop])
    with pytest.raises(ContractError) as caught:
        static_checks(_model([_call("Looper")], [function]))
    assert str(caught.value).endswith(
        "(node Gelu in the else_branch of a If node in the body of a Loop node "
        "in local function 'Looper')"
    )


def test_a_custom_import_of_a_local_function_alone_is_refused() -> None:
    function = _function("Plain", [helper.make_node("Neg", ["a"], ["b"])])
    function.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(ContractError, match="imported by local function 'Plain'"):
        static_checks(_model([_call("Plain")], [function]))


def test_external_data_inside_a_subgraph_is_refused() -> None:
    weight = numpy_helper.from_array(np.ones((1,), np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "../../../etc/shadow"
    out = helper.make_tensor_value_info("output_b", TensorProto.FLOAT, None)
    then_graph = helper.make_graph(
        [helper.make_node("Mul", ["input", "w"], ["output_b"])], "then", [], [out], [weight]
    )
    nodes = _branches([], [helper.make_node("Neg", ["input"], ["output_b"])])
    next(a for a in nodes[-1].attribute if a.name == "then_branch").g.CopyFrom(then_graph)
    with pytest.raises(ContractError) as caught:
        static_checks(_model(nodes, initializers=[TWO]))
    assert str(caught.value) == (
        "ONNX references external data files, which are not accepted "
        "(in the then_branch of a If node in the main graph)"
    )


def test_standard_functions_and_branches_still_run() -> None:
    """The rules refuse domains, not structure: a clean function and If run in the sandbox."""
    negate = _function("Negate", [helper.make_node("Neg", ["a"], ["b"])])
    invert_then = [helper.make_node("Neg", ["input"], ["output_b"])]
    invert_else = [helper.make_node("Sub", ["one", "input"], ["output_b"])]
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    cases = {
        "function": (_model([_call("Negate")], [negate]), lambda x: -x),
        "branches": (_model(_branches(invert_then, invert_else), initializers=[TWO, one]), None),
    }
    image = probe_image(24, 40)
    for name, (data, expected) in cases.items():
        with SandboxedModel(data, limits=FAST) as sandbox:
            output = sandbox.run(image)
        want = expected(image) if expected else 1.0 - image  # mean ≤ 2: the else branch
        assert np.allclose(output, want, atol=1e-6), name

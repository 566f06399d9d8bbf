"""Golden graphs: every layer is used; shapes and parameter counts match hand-written PyTorch."""

import pytest
import torch
from torch import nn

from golden import GOLDEN, inputs_for, load
from netcanvas.catalog import REGISTRY
from netcanvas.compiler import compile_graph
from netcanvas.shapes import validate_graph


def test_golden_graphs_use_every_layer() -> None:
    used = {n["type"] for name in GOLDEN for n in load(name)["nodes"]}
    assert used == set(REGISTRY), f"not covered: {set(REGISTRY) - used}"


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_graph_compiles_and_runs_with_the_reported_shapes(name: str) -> None:
    graph = load(name)
    report = validate_graph(graph)
    assert report.valid, report.errors
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    assert report.total_params == sum(p.numel() for p in compiled.module.parameters())
    compiled.module.eval()
    with torch.no_grad():
        outs = compiled.module(*inputs_for(compiled))
    outs = outs if isinstance(outs, tuple) else (outs,)
    for out_name, out in zip(compiled.output_names, outs, strict=True):
        expected = [11 if s is None else s for s in compiled.outputs[out_name].shape]
        assert list(out.shape) == [3, *expected]


class HandMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.act1, self.drop = nn.Linear(4, 32), nn.GELU(), nn.Dropout(0.1)
        self.fc2, self.probs = nn.Linear(32, 3), nn.Softmax(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.probs(self.fc2(self.drop(self.act1(self.fc1(x)))))


class HandResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        self.conv_a = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn_a = nn.BatchNorm2d(16)
        self.conv_b = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn_b = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.stem_bn(self.stem(x)))
        out = self.bn_b(self.conv_b(torch.relu(self.bn_a(self.conv_a(h)))))
        return self.fc(torch.relu(out + h).mean(dim=(2, 3)))


class HandRecurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(1, 16, batch_first=True, bidirectional=True)
        self.lstm = nn.LSTM(32, 16, num_layers=2, dropout=0.1, batch_first=True)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq, _ = self.gru(x)
        _, (h, _) = self.lstm(seq)
        return self.fc(h[-1])


class HandAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.norm = nn.LayerNorm(16)
        self.cross = nn.MultiheadAttention(16, 2, batch_first=True)
        self.fc = nn.Linear(16, 8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, _ = self.self_attn(x, x, x, need_weights=False)
        n = self.norm(a + x)
        c, w = self.cross(n, x, x)
        return self.fc(c).mean(dim=1), w


@pytest.mark.parametrize("name,hand", [("mlp", HandMLP), ("resnet_block", HandResNet),
                                       ("recurrent", HandRecurrent), ("attention", HandAttention)])
def test_compiled_module_equals_hand_written_pytorch(name: str, hand: type[nn.Module]) -> None:
    compiled = compile_graph(load(name))
    reference = hand()
    ours = compiled.module
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())
    # Same weights: our state_dict keys are the node ids, the hand-written module uses the same names.
    mapped = {k.replace("my_layer", "fc"): v for k, v in ours.state_dict().items()}
    reference.load_state_dict(mapped)
    ours.eval()
    reference.eval()
    x = inputs_for(compiled, batch=4, length=7)
    with torch.no_grad():
        got, want = ours(*x), reference(*x)
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-6)


def test_state_dict_keys_and_code_read_like_pytorch() -> None:
    compiled = compile_graph(load("attention"))
    assert "my_layer.weight" in compiled.module.state_dict()
    assert compiled.module_names["my layer"] == "my_layer"
    assert "self.self_attn(x)" in compiled.module.code


def test_node_ids_that_are_keywords_or_attributes_compile() -> None:
    compiled = compile_graph(load("resnet_block"))  # ids "in" and "forward"
    assert compiled.module_names["in"] == "in_" and compiled.module_names["forward"] == "forward_"
    assert compiled.module(torch.randn(2, 3, 16, 16)).shape == (2, 10)

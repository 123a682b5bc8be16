"""The networks of `core.nets` as standalone `torch.nn.Module` source, and code that prints the
Train page's layer table without the app."""

from __future__ import annotations

from core.nets import NETS
from core.snippets._text import comment

# The class each network is printed as; its constructor needs no arguments.
CLASS_NAMES = {"SmallVGG": "SmallVGG", "ResNet-8": "ResNet8", "ResNet-20": "ResNet20"}

_SMALL_VGG = '''\
class SmallVGG(nn.Sequential):
    """{doc}"""

    def __init__(self, num_classes: int = {num_classes}, width: int = 16) -> None:
        layers = []
        channels_in = 3
        for stage in range(3):
            channels = width * 2**stage
            for _ in range(2):
                layers += [
                    nn.Conv2d(channels_in, channels, 3, padding=1, bias=False),
                    nn.BatchNorm2d(channels),
                    nn.ReLU(inplace=True),
                ]
                channels_in = channels
            layers.append(nn.MaxPool2d(2))
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels_in, num_classes)]
        super().__init__(*layers)
'''

_RESNET = '''\
class {name}(nn.Module):
    """{doc}"""

    def __init__(self, num_classes: int = {num_classes}, width: int = 16) -> None:
        super().__init__()
        blocks_per_stage = {blocks}
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        stages = []
        channels_in = width
        for stage in range(3):
            channels = width * 2**stage
            stride = 1 if stage == 0 else 2
            blocks = []
            for index in range(blocks_per_stage):
                downsample = None
                if index == 0 and (stride != 1 or channels_in != channels):
                    downsample = nn.Sequential(
                        nn.Conv2d(channels_in, channels, 1, stride=stride, bias=False),
                        nn.BatchNorm2d(channels),
                    )
                blocks.append(
                    BasicBlock(channels_in, channels, stride if index == 0 else 1, downsample)
                )
                channels_in = channels
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels_in, num_classes)
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(images)))
'''

_BLOCKS = {"ResNet-8": 1, "ResNet-20": 3}


def net_imports(net: str) -> str:
    """The import lines `net_code(net)` needs."""
    lines = ["import torch", "from torch import nn"]
    if net in _BLOCKS:
        lines.append("from torchvision.models.resnet import BasicBlock")
    return "\n".join(lines) + "\n"


def net_code(net: str, *, num_classes: int, language: str = "en") -> str:
    """The full source of network `net` of `core.nets.NETS` as a plain `torch.nn.Module` class.

    The class (named `CLASS_NAMES[net]`) builds its layers in the same order as `core.nets`, so
    the same seed gives the same initial weights and `load_state_dict` takes the app's
    state_dict. It needs `net_imports(net)` above it.

    Raises:
        KeyError: `net` is not in `core.nets.NETS`.
    """
    if net not in NETS:
        raise KeyError(net)
    if net in _BLOCKS:
        return _RESNET.format(
            name=CLASS_NAMES[net],
            doc=comment(language, "resnet_doc", net=net),
            num_classes=num_classes,
            blocks=_BLOCKS[net],
        )
    return _SMALL_VGG.format(doc=comment(language, "vgg_doc"), num_classes=num_classes)


def summary_code(net: str, *, num_classes: int = 10, language: str = "en") -> str:
    """A program that builds `net` and prints the Train page's layer table and totals:
    one line per leaf layer (name, kind, output shape, parameters), then the parameter count
    and the output shape, formatted as the page shows them."""
    return f"""\
{net_imports(net)}

{net_code(net, num_classes=num_classes, language=language)}

model = {CLASS_NAMES[net]}().eval()
rows = []
# {comment(language, "summary_hooks")}
for name, module in model.named_modules():
    if name and not list(module.children()):
        module.register_forward_hook(
            lambda module, inputs, output, name=name: rows.append((name, module, output))
        )
with torch.no_grad():
    output = model(torch.zeros(1, 3, 32, 32))
for name, module, layer_output in rows:
    params = sum(p.numel() for p in module.parameters(recurse=False))
    print(name, type(module).__name__, tuple(layer_output.shape), params)
print(f"{{sum(p.numel() for p in model.parameters()):,}}")  # {comment(language, "total_params")}
print(tuple(output.shape))  # {comment(language, "output_shape")}
"""

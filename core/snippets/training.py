"""The Train page's run as one plain PyTorch script: the same data, split, seed, network,
augmentation, optimiser, schedule and evaluation, so it prints the page's numbers.

On a CPU with the same number of threads (`torch.get_num_threads()`) the script repeats the
page's arithmetic operation for operation, so its test accuracy equals the page's to the shown
0.1 %; on a GPU, cuDNN's kernel choices can move it by a few images.
"""

from __future__ import annotations

from core.snippets._text import comment
from core.snippets.nets import CLASS_NAMES, net_code, net_imports
from core.training import TrainConfig

_OPTIMIZERS = {
    "sgd": "torch.optim.SGD(\n    model.parameters(), lr={lr!r}, momentum=0.9, nesterov=True, "
    "weight_decay={decay!r}\n)",
    "adam": "torch.optim.Adam(model.parameters(), lr={lr!r}, weight_decay={decay!r})",
}
_SCHEDULES = {
    "none": "torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)",
    "step": "torch.optim.lr_scheduler.StepLR(\n    optimizer, step_size=max(1, total_steps // 3), "
    "gamma=0.1\n)",
    "cosine": "torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)",
    "onecycle": "torch.optim.lr_scheduler.OneCycleLR(\n    optimizer, max_lr={lr!r}, "
    "total_steps=total_steps\n)",
}

_CIFAR_DATA = """\
def load_cifar10(train):
    dataset = CIFAR10(ROOT, train=train)  # {loads}
    images = torch.from_numpy(dataset.data.transpose(0, 3, 1, 2).copy())  # (N, 3, 32, 32) uint8
    return images, torch.tensor(dataset.targets), dataset.classes


all_images, all_labels, classes = load_cifar10(train=True)
test_images, test_labels, _ = load_cifar10(train=False)
"""

_FOLDER_DATA = """\
def load_rgb(path):
    return ImageOps.exif_transpose(Image.open(path)).convert("RGB")


folder = ImageFolder(ROOT, loader=load_rgb)  # {folder}
to_32 = v2.Compose([v2.PILToTensor(), v2.Resize((32, 32), antialias=True)])
images = torch.stack([to_32(folder.loader(path)) for path, _ in folder.samples])
labels = torch.tensor(folder.targets)
classes = folder.classes
# {folder_test}
order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(1))
held_out = round(len(labels) * 0.2)
test_images, test_labels = images[order[:held_out]], labels[order[:held_out]]
all_images, all_labels = images[order[held_out:]], labels[order[held_out:]]
"""

_AUGMENT = '''

def random_crop_flip(batch, generator, padding=4):
    """{augment_doc}"""
    count, channels, height, width = batch.shape
    padded = nn.functional.pad(batch, (padding,) * 4)
    top = torch.randint(0, 2 * padding + 1, (count, 1), generator=generator)
    left = torch.randint(0, 2 * padding + 1, (count, 1), generator=generator)
    rows = (top + torch.arange(height))[:, None, :, None]
    columns = (left + torch.arange(width))[:, None, None, :]
    flip = torch.rand(count, generator=generator) < 0.5
    columns = torch.where(flip[:, None, None, None], columns.flip(-1), columns)
    images = torch.arange(count)[:, None, None, None]
    return padded[images, torch.arange(channels)[None, :, None, None], rows, columns]
'''

_BODY = '''
SEED = {seed}
MEAN = {mean!r}
STD = {std!r}
EPOCHS, BATCH_SIZE = {epochs}, {batch_size}
device = torch.device({device!r})

{data}
# {subset_comment}
chosen = torch.randperm(len(all_labels), generator=torch.Generator().manual_seed(SEED))
chosen = chosen[:{subset}]
images, labels = all_images[chosen], all_labels[chosen]
# {split_comment}
order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SEED + 1))
held_out = round(len(labels) * {fraction!r})
validation_images, validation_labels = images[order[:held_out]], labels[order[:held_out]]
train_images, train_labels = images[order[held_out:]], labels[order[held_out:]]
# {test_comment}
picked = torch.randperm(len(test_labels), generator=torch.Generator().manual_seed(SEED))
test_images, test_labels = test_images[picked[:{test_size}]], test_labels[picked[:{test_size}]]


def to_inputs(batch):
    """{inputs_doc}"""
    return F.normalize(F.to_dtype(batch, torch.float32, scale=True), MEAN, STD)
{augment_function}

def predict(model, images):
    """{predict_doc}"""
    model.eval()
    outputs = []
    with torch.inference_mode():
        for first in range(0, len(images), 500):
            inputs = to_inputs(images[first : first + 500]).to(device)
            outputs.append(model(inputs).softmax(1).float().cpu())
    return torch.cat(outputs)


torch.manual_seed(SEED)  # {init_comment}
model = {class_name}().to(device)
optimizer = {optimizer}
steps_per_epoch = -(-len(train_labels) // BATCH_SIZE)
total_steps = EPOCHS * steps_per_epoch
scheduler = {scheduler}
loss_function = nn.CrossEntropyLoss()
generator = torch.Generator().manual_seed(SEED)  # {generator_comment}

images_seen = 0
for epoch in range(1, EPOCHS + 1):
    model.train()
    order = torch.randperm(len(train_labels), generator=generator)
    loss_sum = correct = 0
    for first in range(0, len(order), BATCH_SIZE):
        indices = order[first : first + BATCH_SIZE]
        inputs = to_inputs({batch}).to(device)
        targets = train_labels[indices].to(device)
        optimizer.zero_grad(set_to_none=True)
        logits = model(inputs)
        loss = loss_function(logits, targets)
        loss.backward()
        optimizer.step()
        scheduler.step()  # {scheduler_comment}
        loss_sum += loss.item() * len(indices)
        correct += int((logits.argmax(1) == targets).sum())
        images_seen += len(indices)
    report = f"epoch {{epoch}}: loss {{loss_sum / len(train_labels):.3f}}"
    report += f", accuracy {{correct / len(train_labels):.1%}}"
    if held_out:
        probabilities = predict(model, validation_images)
        accuracy = (probabilities.argmax(1) == validation_labels).float().mean()
        report += f", validation accuracy {{accuracy:.1%}}"
    print(report)

# {evaluate_comment}
probabilities = predict(model, test_images)
confidence, predicted = probabilities.max(1)
accuracy = float((predicted == test_labels).double().mean())
confusion = torch.bincount(
    test_labels * len(classes) + predicted, minlength=len(classes) ** 2
).reshape(len(classes), len(classes))  # {confusion_comment}
per_class = confusion.diag().double() / confusion.sum(1).double()
print(f"test accuracy {{accuracy:.1%}}")
print(f"test images {{len(test_labels):,}}")
print(f"trained images {{images_seen:,}}")
for name, class_accuracy in zip(classes, per_class.tolist()):
    print(f"{{name}}: {{class_accuracy:.0%}}")
'''


def training_code(
    net: str,
    settings: TrainConfig,
    *,
    data_root: str,
    subset: int,
    validation_fraction: float,
    test_size: int,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    num_classes: int,
    source: str = "cifar10",
    language: str = "en",
) -> str:
    """The page's training run as one plain PyTorch program (the same run, not a similar one).

    It rebuilds what `core.training` does: the seeded subset (`subset`), the seeded validation
    hold-out (`validation_fraction`), the seeded test sample (`test_size`), initial weights from
    `torch.manual_seed(seed)`, the batch order and augmentation drawn from one generator seeded
    with `seed`, and the same optimiser and schedule stepped once per batch. It prints one line
    per epoch, then `test accuracy 49.1%`, `test images 2,000`, `trained images 13,500` and
    each class's accuracy (`airplane: 52%`), as the page shows them.

    Args:
        net: a `core.nets.NETS` key.
        settings: the run's hyperparameters; `settings.augmentation` is "none" or "standard".
        data_root: CIFAR-10's root (source "cifar10") or the ImageFolder (source "folder").
        subset: how many training images the page drew.
        validation_fraction: the held-out share of those, e.g. 0.1.
        test_size: how many test images the page evaluates.
        mean, std: the Normalize values the page trained with.
        num_classes: the network's outputs.
        source: "cifar10" or "folder" (the folder's test part is its seeded 20 %).
        language: the UI language of the comments.
    """
    say = lambda key, **params: comment(language, key, **params)  # noqa: E731
    imports = [net_imports(net).rstrip("\n")]
    if source == "folder":
        imports += [
            "from PIL import Image, ImageOps",
            "from torchvision.datasets import ImageFolder",
            "from torchvision.transforms import v2",
        ]
        data = _FOLDER_DATA.format(folder=say("folder_layout"), folder_test=say("folder_test"))
    else:
        imports.append("from torchvision.datasets import CIFAR10")
        data = _CIFAR_DATA.format(loads=say("cifar_loads"))
    imports.append("from torchvision.transforms.v2 import functional as F")
    augment = settings.augmentation == "standard"
    body = _BODY.format(
        seed=settings.seed,
        mean=list(mean),
        std=list(std),
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        device=settings.device,
        data=data,
        subset_comment=say("subset"),
        split_comment=say("split"),
        test_comment=say("test_sample"),
        subset=subset,
        fraction=validation_fraction,
        test_size=test_size,
        inputs_doc=say("inputs_doc"),
        augment_function=_AUGMENT.format(augment_doc=say("augment_doc")) if augment else "",
        predict_doc=say("predict_doc"),
        init_comment=say("init"),
        class_name=CLASS_NAMES[net],
        optimizer=_OPTIMIZERS[settings.optimizer].format(
            lr=settings.learning_rate, decay=settings.weight_decay
        ),
        scheduler=_SCHEDULES[settings.schedule].format(lr=settings.learning_rate),
        generator_comment=say("generator"),
        batch=(
            "random_crop_flip(train_images[indices], generator)"
            if augment
            else "train_images[indices]"
        ),
        scheduler_comment=say("scheduler_step"),
        evaluate_comment=say("evaluate"),
        confusion_comment=say("confusion"),
    )
    return (
        f"# {say('same_run')}\n"
        + "\n".join(imports)
        + "\n\n\n"
        + net_code(net, num_classes=num_classes, language=language)
        + f"\n\nROOT = {data_root!r}"
        + body
    )

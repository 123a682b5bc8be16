import streamlit as st
import torch

from core import snippets, tensor_ops
from core.errors import PlaygroundError
from core.indexing import apply_index, parse_index, write_through
from core.tensors import TensorRecipe, build_tensor, describe
from ui import tensors as view
from ui.code import show_code
from ui.frame import require_frame
from ui.i18n import language, t

require_frame()

SECTIONS = ("index", "combine", "split", "reshape", "broadcast", "reduce", "autograd", "devices")
SECOND_TENSOR = TensorRecipe(factory="full", shape=(1, 4), fill=10.0)

view.keep_widget_state(skip=("tensors_matmul_run",))
st.title(t("tensors.title"))
st.markdown(t("tensors.intro"))

# --- Create ------------------------------------------------------------------------------------
st.subheader(t("tensors.create_header"))
try:
    recipe = view.recipe_form("tensors", param="", default=TensorRecipe())
    built = build_tensor(recipe)
except PlaygroundError as error:
    view.show_error(error)
    view.write_url()
    st.stop()
source = built.tensor
show_code(
    snippets.tensor_code(tensors=[built.code], prints=["t", "t.shape", "t.dtype", "t.stride()"]),
    file_name="tensor_create.py",
    key="tensors_code_create",
)
if recipe.factory == "image":
    st.image(view.as_picture(source), caption=t("tensors.image_caption"), width=240)
view.show_metadata(source)

view.bind("tensors_section", "v", "index", view.choice(SECTIONS))
section = st.radio(
    t("tensors.section"),
    SECTIONS,
    key="tensors_section",
    horizontal=True,
    format_func=lambda name: t(f"tensors.section_{name}"),
)
view.remember("v", section, "index")


def second_tensor() -> tuple[torch.Tensor, str]:
    """The second tensor `u`, built with the same controls as `t`, and the code that builds it."""
    with st.expander(t("tensors.second_header"), expanded=True):
        recipe_second = view.recipe_form("tensors_u", param="u_", default=SECOND_TENSOR)
        built_second = build_tensor(recipe_second, name="u")
        show_code(
            snippets.tensor_code(tensors=[built_second.code], prints=["u"]),
            file_name="tensor_u.py",
            key="tensors_code_u",
        )
    return built_second.tensor, built_second.code


def show_view_code(
    statement: str,
    prints: list[str],
    *,
    name: str,
    second: str | None = None,
    note: str | None = None,
) -> None:
    """The view's complete program: build t (and u), run `statement`, print what the page shows."""
    show_code(
        snippets.tensor_code(
            tensors=[built.code, *([second] if second else [])],
            statement=statement,
            prints=prints,
            note=note,
            language=language(),
        ),
        file_name=f"tensor_{name}.py",
        key=f"tensors_code_{name}",
    )


try:
    # --- Index and slice ---------------------------------------------------------------------
    if section == "index":
        st.subheader(t("tensors.index_header"))
        default_index = {0: "[None]", 1: "[::2]"}.get(source.dim(), "[1:, ::2]")
        view.bind(view.INDEX_KEY, "i", default_index)
        expression = st.session_state[view.INDEX_KEY]
        view.remember("i", expression, default_index)
        parsed, controls = view.parse_for_controls(expression, source.dim())
        view.sync_controls(controls)
        st.text_input(t("tensors.index"), key=view.INDEX_KEY, help=t("tensors.index_help"))
        if controls is None:
            st.caption(t("tensors.controls_off"))
        else:
            view.dimension_controls(source)
        selection = apply_index(source, parsed or parse_index(expression))  # raises its error
        st.markdown(t("tensors.source_highlighted", count=int(selection.highlight.sum())))
        view.show_tensor(source, key="tensors_source", marks=selection.highlight)
        st.markdown(t("tensors.result_shape", shape=tuple(selection.result.shape)))
        if selection.is_view:
            st.success(t("tensors.verdict_view"), icon=":material/link:")
        else:
            st.info(t("tensors.verdict_copy"), icon=":material/content_copy:")
        view.show_tensor(selection.result, key="tensors_result")
        view.show_metadata(selection.result)
        show_view_code(selection.code, ["result", "result.shape"], name="index")
        with st.expander(t("tensors.write_header"), expanded=False):
            st.session_state.setdefault("tensors_write_value", 100)
            value = st.number_input(t("tensors.write_value"), key="tensors_write_value")
            written = write_through(source, parsed, value=value)
            changed = "tensors.write_changed" if written.changed else "tensors.write_unchanged"
            st.markdown(t(changed))
            view.show_tensor(written.source, key="tensors_written", marks=selection.highlight)
            show_view_code(written.code, ["source"], name="write", note="write_through")

    # --- Combine -----------------------------------------------------------------------------
    elif section == "combine":
        st.subheader(t("tensors.combine_header"))
        other, other_code = second_tensor()
        left, right = st.columns(2)
        with left:
            op = view.op_select("combine", tensor_ops.COMBINE_OPS)
        dim = 0
        if op in ("cat", "stack"):
            with right:
                dim = view.dim_input("combine", source.dim() + (op == "stack"))
        combined = tensor_ops.combine(source, other, op=op, dim=dim)
        st.markdown(t("tensors.combined_legend", shape=tuple(combined.result.shape)))
        view.show_tensor(combined.result, key="tensors_combined", marks=combined.origin)
        show_view_code(combined.code, ["result"], name="combine", second=other_code)

    # --- Split -------------------------------------------------------------------------------
    elif section == "split":
        st.subheader(t("tensors.split_header"))
        if source.dim() == 0:
            st.info(t("tensors.needs_dims"))
            view.write_url()
            st.stop()
        columns = st.columns(3)
        with columns[0]:
            op = view.op_select("split", tensor_ops.SPLIT_OPS)
        with columns[1]:
            dim = view.dim_input("split", source.dim())
        sizes = ()
        if op != "unbind":
            with columns[2]:
                sizes = tensor_ops.parse_int_list(view.args_input("split", op, "2"))
        pieces = tensor_ops.split(source, op=op, dim=dim, sizes=sizes)
        st.markdown(t("tensors.split_legend", count=len(pieces.pieces)))
        view.show_tensor(source, key="tensors_split_source", marks=pieces.owner)
        shown = list(zip(pieces.pieces, pieces.shared, strict=True))[: view.MAX_PIECES]
        if len(pieces.pieces) > len(shown):
            st.caption(t("tensors.pieces_clipped", shown=len(shown), total=len(pieces.pieces)))
        columns = st.columns(min(len(shown), 4) or 1)
        for number, (piece, shared) in enumerate(shown):
            with columns[number % len(columns)]:
                st.caption(
                    t("tensors.piece", number=number, shape=tuple(piece.shape))
                    + " · "
                    + t("tensors.shared" if shared else "tensors.not_shared")
                )
                view.show_tensor(
                    piece,
                    key=f"tensors_piece{number}",
                    marks=torch.full(piece.shape, number),
                    heatmap=False,
                )
        show_view_code(pieces.code, ['*pieces, sep="\\n"'], name="split")

    # --- Reshape -----------------------------------------------------------------------------
    elif section == "reshape":
        st.subheader(t("tensors.reshape_header"))
        columns = st.columns(3)
        with columns[0]:
            op = view.op_select("reshape", tensor_ops.RESHAPE_OPS)
        defaults = {
            "view": "2, -1",
            "reshape": "2, -1",
            "permute": ", ".join(map(str, reversed(range(source.dim())))),
            "transpose": "0, 1",
            "squeeze": "",
            "unsqueeze": "0",
            "flatten": "",
            "expand": ", ".join(["2", *map(str, source.shape)]),
        }
        with columns[1]:
            args = tensor_ops.parse_int_list(view.args_input("reshape", op, defaults[op]))
        with columns[2]:
            view.bind("tensors_transposed", "tr", False, view.read_bool)
            transposed = st.checkbox(
                t("tensors.start_transposed"),
                key="tensors_transposed",
                disabled=source.dim() < 2,
                help=t("tensors.start_transposed_help"),
            )
            view.remember("tr", int(transposed), 0)
        start = source.transpose(0, -1) if transposed and source.dim() >= 2 else source
        reshaped = tensor_ops.reshape(start, op=op, args=args)
        st.markdown(
            t(
                "tensors.reshaped_verdict",
                shape=tuple(reshaped.result.shape),
                stride=tuple(reshaped.result.stride()),
                contiguous=reshaped.is_contiguous,
            )
        )
        if reshaped.shared:
            st.success(t("tensors.verdict_view"), icon=":material/link:")
        else:
            st.info(t("tensors.verdict_copy"), icon=":material/content_copy:")
        left, right = st.columns(2)
        with left:
            st.caption(t("tensors.values"))
            view.show_tensor(reshaped.result, key="tensors_reshaped", heatmap=False)
        with right:
            st.caption(t("tensors.positions"))
            view.show_tensor(reshaped.position, key="tensors_positions", heatmap=False)
        show_view_code(
            ("t = t.transpose(0, -1)\n" if start is not source else "") + reshaped.code,
            ["result", "result.shape", "result.stride()", "result.is_contiguous()"],
            name="reshape",
            note="transposed" if start is not source else None,
        )

    # --- Broadcast ---------------------------------------------------------------------------
    elif section == "broadcast":
        st.subheader(t("tensors.broadcast_header"))
        other, other_code = second_tensor()
        with st.columns(3)[0]:
            op = view.op_select("broadcast", tuple(tensor_ops.ELEMENTWISE_OPS))
        steps = tensor_ops.broadcast_steps(tuple(source.shape), tuple(other.shape))
        view.show_broadcast_steps(steps)
        broadcast = tensor_ops.elementwise(source, other, op=op)
        st.markdown(t("tensors.result_shape", shape=tuple(broadcast.result.shape)))
        view.show_tensor(broadcast.result, key="tensors_broadcast")
        show_view_code(broadcast.code, ["result"], name="broadcast", second=other_code)

    # --- Reduce ------------------------------------------------------------------------------
    elif section == "reduce":
        st.subheader(t("tensors.reduce_header"))
        left, middle, right = st.columns(3)
        with left:
            op = view.op_select("reduce", tensor_ops.REDUCTIONS)
        dims = (None, *range(source.dim()))
        if st.session_state.get("tensors_reduce_dim") not in dims:
            st.session_state.pop("tensors_reduce_dim", None)  # t lost that dimension
        view.bind("tensors_reduce_dim", "dim", None, view.choice(dims, read=int))
        with middle:
            dim = st.selectbox(
                t("tensors.dim"),
                dims,
                key="tensors_reduce_dim",
                format_func=lambda value: t("tensors.all_dims") if value is None else str(value),
            )
        view.remember("dim", dim, None)
        with right:
            view.bind("tensors_keepdim", "kd", False, view.read_bool)
            keepdim = st.checkbox("keepdim", key="tensors_keepdim", disabled=dim is None)
            view.remember("kd", int(keepdim), 0)
        reduced = tensor_ops.reduce(source, op=op, dim=dim, keepdim=keepdim)
        if reduced.chosen is not None:
            st.markdown(t("tensors.reduce_chosen"))
            view.show_tensor(source, key="tensors_reduce_source", marks=reduced.chosen)
        st.markdown(t("tensors.result_shape", shape=tuple(reduced.result.shape)))
        view.show_tensor(reduced.result, key="tensors_reduced")
        show_view_code(
            reduced.code,
            ["result", *(["indices"] if "indices" in reduced.code else [])],
            name="reduce",
        )

    # --- Autograd ----------------------------------------------------------------------------
    elif section == "autograd":
        st.subheader(t("tensors.autograd_header"))
        st.markdown(t("tensors.autograd_intro"))
        columns = st.columns(5)
        view.bind("tensors_weight", "w", 2.0, float)
        view.bind("tensors_bias", "b", 0.5, float)
        view.bind("tensors_power", "p", 2, int)
        view.bind("tensors_size", "n", 4, int)
        view.bind("tensors_x_grad", "xg", False, view.read_bool)
        weight = columns[0].slider("w", -3.0, 3.0, key="tensors_weight", step=0.1)
        bias = columns[1].slider("b", -3.0, 3.0, key="tensors_bias", step=0.1)
        power = columns[2].slider("p", 1, 5, key="tensors_power")
        size = columns[3].slider(t("tensors.x_size"), 1, 10, key="tensors_size")
        x_grad = columns[4].checkbox(t("tensors.x_requires_grad"), key="tensors_x_grad")
        for param, value, default in (
            ("w", weight, 2.0),
            ("b", bias, 0.5),
            ("p", power, 2),
            ("n", size, 4),
            ("xg", int(x_grad), 0),
        ):
            view.remember(param, value, default)
        demo = tensor_ops.autograd_demo(
            weight=weight, bias=bias, power=power, size=size, x_requires_grad=x_grad
        )
        st.metric("y", f"{demo.output:.4g}")
        left, right = st.columns([2, 3])
        with left:
            st.caption(t("tensors.graph_caption"))
            st.graphviz_chart(tensor_ops.graph_dot(demo.nodes))
        with right:
            for leaf in demo.leaves:
                st.latex(leaf.formula)
                st.markdown(
                    t(
                        "tensors.leaf_grad",
                        name=leaf.name,
                        grad=view.format_tensor(leaf.grad),
                        by_hand=view.format_tensor(leaf.by_hand),
                    )
                )
        show_code(
            snippets.tensor_code(
                tensors=[], statement=demo.code, prints=["y"], note="autograd", language=language()
            ),
            file_name="tensor_autograd.py",
            key="tensors_code_autograd",
        )

    # --- Devices and NumPy -------------------------------------------------------------------
    elif section == "devices":
        st.subheader(t("tensors.devices_header"))
        moved = source
        for option in tensor_ops.device_options():
            wanted = st.toggle(
                t("tensors.move_to", device=option.kind.upper()),
                key=f"tensors_move_{option.kind}",
                disabled=not option.available,
                help=None if option.available else t(f"tensors.{option.reason}"),
            )
            if not option.available:
                st.caption(t(f"tensors.{option.reason}"))
            elif wanted:
                moved = source.to(option.kind)
                show_view_code(f't = t.to("{option.kind}")', ["t.device"], name=f"to_{option.kind}")
        st.markdown(t("tensors.device_now", device=describe(moved).device))
        accelerators = [option.kind for option in tensor_ops.device_options() if option.available]
        if accelerators:
            st.session_state.setdefault("tensors_matmul", 1024)
            size = st.select_slider(
                t("tensors.matmul_size"), (256, 512, 1024, 2048), key="tensors_matmul"
            )
            if st.button(t("tensors.matmul_run"), key="tensors_matmul_run"):
                cpu = tensor_ops.time_matmul(size=size, device="cpu")
                for kind in accelerators:
                    gpu = tensor_ops.time_matmul(size=size, device=kind)
                    st.metric(
                        t("tensors.matmul_result", device=kind.upper(), size=size),
                        f"{gpu.seconds * 1000:.2f} ms",
                        t("tensors.matmul_ratio", ratio=cpu.seconds / gpu.seconds),
                    )
                st.caption(t("tensors.matmul_cpu", ms=cpu.seconds * 1000))
        else:
            st.caption(t("tensors.matmul_no_gpu"))
        st.subheader(t("tensors.numpy_header"))
        shared = tensor_ops.numpy_demo(source)
        st.markdown(t("tensors.numpy_intro"))
        view.show_tensor(
            shared.tensor, key="tensors_numpy", marks=view.first_element(shared.tensor)
        )
        st.markdown(t("tensors.numpy_array", array=str(shared.array.tolist())))
        show_view_code(shared.code, ["shared", "array"], name="numpy", note="numpy_shares")
except PlaygroundError as error:
    view.show_error(error)

view.write_url()

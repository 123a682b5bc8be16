import dataclasses

import streamlit as st

from core import config, ddp, models, nets, samples, serve_bundle, serving, training
from core.errors import PlaygroundError
from ui import datasets as ui_datasets
from ui import folders as ui_folders
from ui import serving as hosting
from ui import state
from ui import training as runs
from ui.code import show_code
from ui.frame import require_frame
from ui.i18n import language, show_error, t
from ui.models import classifier

require_frame()

TRAINED_PREFIX = "trained:"
BUNDLE_KEY = "serve_bundle"  # (model key, replicas, zip bytes) built on request
LOG_LINES = 40  # the newest log lines shown while a run trains
DDP_BASE_KEY = "serve_ddp_base"  # the TrainConfig handed over by the Train page, kept

st.title(f":material/hub: {t('serve.title')}")
st.caption(t("serve.summary"))
trained_models = state.trained_models()


def model_title(key: str) -> str:
    if key.startswith(TRAINED_PREFIX):
        return key.removeprefix(TRAINED_PREFIX)
    return models.get_record(key).title


def load_classifier(key: str) -> models.Classifier:
    if key.startswith(TRAINED_PREFIX):
        return models.from_trained(trained_models[key.removeprefix(TRAINED_PREFIX)])
    return classifier(key)


def record_of(key: str) -> models.ModelRecord:
    # Only the record: the registry model itself loads when it is served or bundled.
    if key.startswith(TRAINED_PREFIX):
        return load_classifier(key).record
    return models.get_record(key)


# 1. Serve -----------------------------------------------------------------------------------
st.header(t("serve.serve_header"))
st.markdown(t("serve.scale_out"))
choices = [models.DEFAULT_MODEL] + [TRAINED_PREFIX + name for name in trained_models]
left, right = st.columns(2)
model_key = left.selectbox(t("serve.model"), choices, format_func=model_title, key="serve_model")
replicas = right.slider(t("serve.replicas"), 1, config.MAX_REPLICAS, 1, key="serve_replicas")
st.caption(t("serve.replica_note", cpus=config.REPLICA_CPUS, limit=config.MAX_LIVE_DEPLOYMENTS))

current = hosting.served()
left, right, _ = st.columns([1, 1, 3])
if left.button(t("serve.start"), type="primary", key="serve_start", icon=":material/play_arrow:"):
    host = hosting.serve_host()
    with st.status(t("serve.starting_ray") if not host.started else t("serve.starting")) as status:
        try:
            model = serving.served_model(load_classifier(model_key))
            current = hosting.start_serving(model_key, model, replicas=int(replicas))
        except PlaygroundError as error:
            status.update(label=t("serve.start_failed"), state="error")
            show_error(error)
        else:
            status.update(label=t("serve.started"), state="complete")
if right.button(
    t("serve.stop"), key="serve_stop", disabled=current is None, icon=":material/stop:"
):
    hosting.stop_serving()
    current = None

if current is None:
    st.info(t("serve.not_running"), icon=":material/cloud_off:")
else:
    app_status = hosting.serve_host().status(current.name)
    if app_status == "RUNNING":
        st.success(
            t(
                "serve.running",
                model=model_title(current.model_key),
                replicas=current.replicas,
                url=current.url,
            ),
            icon=":material/cloud_done:",
        )
    else:
        st.error(t("serve.unhealthy", status=app_status or "—"), icon=":material/error:")

    st.subheader(t("serve.call_header"))
    left, right = st.columns(2)
    sample = left.selectbox(
        t("serve.sample"),
        list(samples.SAMPLES),
        format_func=lambda name: t(f"samples.{name}"),
        key="serve_sample",
    )
    upload = right.file_uploader(
        t("serve.upload", limit=config.UPLOAD_LIMIT_MB),
        type=list(config.UPLOAD_EXTENSIONS),
        key="serve_upload",
    )
    if upload is not None:
        photo, photo_name = upload.getvalue(), "photo." + upload.name.rsplit(".", 1)[-1].lower()
    else:
        photo, photo_name = samples.sample_path(sample).read_bytes(), samples.SAMPLES[sample]
    if st.button(t("serve.send"), key="serve_send", icon=":material/send:"):
        try:
            result = serving.post_image(current.url, photo)
        except PlaygroundError as error:
            show_error(error)
        else:
            columns = st.columns(3)
            columns[0].metric(t("serve.http_status"), result.status)
            columns[1].metric(t("serve.latency"), t("serve.ms", ms=result.seconds * 1000))
            if result.status == 200:
                top = result.body["predictions"][0]
                columns[2].metric(t("serve.top1"), top["label"], f"{top['probability']:.1%}")
            st.json(result.body)
    st.caption(t("serve.clients_note", file=photo_name))
    curl_tab, python_tab = st.tabs([t("serve.curl_tab"), t("serve.python_tab")])
    show_code(
        serve_bundle.curl_command(current.url, image_path=photo_name),
        file_name="call_server.sh",
        key="serve_curl_code",
        language="bash",
        where=curl_tab,
    )
    show_code(
        serve_bundle.python_client_code(current.url, image_path=photo_name, language=language()),
        file_name="call_server.py",
        key="serve_python_code",
        where=python_tab,
    )

st.subheader(t("serve.bundle_header"))
st.caption(t("serve.bundle_note", files=", ".join(serve_bundle.BUNDLE_FILES)))
if st.button(t("serve.bundle_build"), key="serve_bundle_build", icon=":material/package_2:"):
    chosen = load_classifier(model_key)
    with st.spinner(t("serve.bundle_building")):
        st.session_state[BUNDLE_KEY] = (
            model_key,
            serve_bundle.bundle_zip(
                chosen.record, chosen.module, replicas=int(replicas), language=language()
            ),
        )
bundle = st.session_state.get(BUNDLE_KEY)
if bundle is not None and bundle[0] == model_key:
    st.download_button(
        t("serve.bundle_download", mb=len(bundle[1]) / 1e6),
        data=bundle[1],
        file_name="serve_bundle.zip",
        mime="application/zip",
        key="serve_bundle_download",
        icon=":material/download:",
        on_click="ignore",
    )
with st.expander(t("serve.app_code_header")):
    show_code(
        serve_bundle.serve_app_code(record_of(model_key), language=language()),
        file_name=serve_bundle.APP_FILE,
        key="serve_app_code",
    )

# 2. Scale the training run ------------------------------------------------------------------
st.header(t("serve.ddp_header"))
st.markdown(t("serve.ddp_what"))
run = hosting.ddp_run()
running = run is not None and run.job.running
handed: state.HandedSettings | None = state.take("serve")
if handed is not None:  # "Scale this run" on the Train page: its settings fill the form
    st.session_state[DDP_BASE_KEY] = handed.settings
    st.session_state["serve_ddp_net"] = handed.net
    st.session_state["serve_ddp_epochs"] = handed.settings.epochs
    st.session_state["serve_ddp_batch"] = handed.settings.batch_size
    st.session_state["serve_ddp_optimizer"] = handed.settings.optimizer
    st.session_state["serve_ddp_source"] = handed.source
    st.session_state["serve_ddp_subset"] = max(16, handed.subset)
    if handed.folder is not None:
        st.session_state["serve_ddp_folder"] = handed.folder
base: training.TrainConfig | None = st.session_state.get(DDP_BASE_KEY)
if base is not None:
    st.info(
        t(
            "serve.ddp_from_train",
            rate=f"{base.learning_rate:g}",
            schedule=t(f"train.schedule_{base.schedule}"),
            decay=f"{base.weight_decay:g}",
            seed=base.seed,
        ),
        icon=":material/model_training:",
    )
columns = st.columns(4)
net = columns[0].selectbox(t("serve.ddp_net"), list(nets.NETS), key="serve_ddp_net")
epochs = columns[1].number_input(
    t("serve.ddp_epochs"), 1, config.MAX_EPOCHS, 3, key="serve_ddp_epochs"
)
batch_size = columns[2].selectbox(
    t("serve.ddp_batch"), [32, 64, 128, 256, 512], index=2, key="serve_ddp_batch"
)
optimizer = columns[3].selectbox(
    t("serve.ddp_optimizer"),
    training.OPTIMIZERS,
    format_func=lambda option: t(f"train.optimizer_{option}"),
    key="serve_ddp_optimizer",
)
columns = st.columns([1, 1, 2])
source = columns[0].radio(
    t("serve.ddp_source"),
    ["cifar10", "folder"],
    format_func=lambda option: t(f"train.source_{option}"),
    key="serve_ddp_source",
)
subset = columns[1].number_input(
    t("serve.ddp_subset"), 16, 50_000, 2_000, step=500, key="serve_ddp_subset"
)
folder = None
if source == "folder":
    with columns[2]:  # only inside the configured roots, or an uploaded zip (ui.folders)
        folder = ui_folders.pick_folder("serve_ddp")
    if folder is None:
        state.stop()
try:
    if folder is None:
        images = runs.cifar_images(str(state.data_dir()), True)
    else:
        images = runs.folder_images(folder, ui_folders.roots())
except PlaygroundError as error:
    ui_datasets.stop_for_data(error, source=source)

mean, std = runs.normalization(source, images)
settings = dataclasses.replace(
    base or training.TrainConfig(),
    epochs=int(epochs),
    batch_size=int(batch_size),
    optimizer=optimizer,
    # The Train page's rate goes with its optimizer; another optimizer takes its own default.
    learning_rate=base.learning_rate
    if base is not None and base.optimizer == optimizer
    else training.DEFAULT_LEARNING_RATE[optimizer],
)
script = ddp.ddp_script(
    net,
    settings,
    data=ddp.DataSpec(
        folder=folder, data_dir=str(state.data_dir()), subset=int(subset), mean=mean, std=std
    ),
    language=language(),
)
code_column, commands_column = st.columns([3, 2])
show_code(script, file_name=ddp.SCRIPT_FILE, key="serve_ddp_code", where=code_column)
commands_column.markdown(t("serve.ddp_commands"))
show_code(
    ddp.torchrun_commands(),
    file_name="run_ddp.sh",
    key="serve_ddp_commands",
    language="bash",
    where=commands_column,
)

if st.button(
    t("serve.ddp_launch", processes=config.DDP_PROCESSES),
    type="primary",
    key="serve_ddp_launch",
    disabled=running,
    icon=":material/rocket_launch:",
):
    run = hosting.launch_ddp(script, net=net, processes=config.DDP_PROCESSES)
    running = True


def show_log() -> None:
    job = run.job
    if running and not job.running:
        st.rerun()  # the run just ended: redraw with its result
    if job.running:
        st.caption(t("serve.ddp_running", processes=config.DDP_PROCESSES))
        st.button(t("serve.ddp_stop"), key="serve_ddp_stop", on_click=job.stop)
    st.code("\n".join(job.log.splitlines()[-LOG_LINES:]) or "…", language="text")


if run is not None:
    st.fragment(show_log, run_every=1.0 if running else None)()
    if not run.job.running:
        hashes = ddp.parameter_hashes(run.job.log)
        if run.job.stopped:
            st.warning(t("serve.ddp_stopped"), icon=":material/stop_circle:")
        elif run.job.returncode != 0 or not run.checkpoint.is_file():
            st.error(t("serve.ddp_failed", code=run.job.returncode), icon=":material/error:")
        else:
            agree = len(set(hashes.values())) == 1
            st.success(
                t("serve.ddp_done", ranks=len(hashes))
                if agree
                else t("serve.ddp_disagree", ranks=len(hashes)),
                icon=":material/check_circle:",
            )
            if st.button(t("serve.ddp_use"), key="serve_ddp_use"):
                name = t("serve.ddp_model_name", net=run.net, processes=config.DDP_PROCESSES)
                try:
                    state.keep_trained_model(ddp.load_checkpoint(run.checkpoint, name=name))
                except PlaygroundError as error:
                    show_error(error)
                else:
                    st.success(t("serve.ddp_used", name=name), icon=":material/check_circle:")
                    st.page_link(
                        "pages/classify.py",
                        label=t("train.open_classify"),
                        icon=":material/arrow_forward:",
                    )

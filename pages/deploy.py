import pandas as pd
import streamlit as st

from core import deploy, models
from core.errors import PlaygroundError
from ui import deploy as jobs
from ui import state
from ui.code import show_code
from ui.frame import require_frame
from ui.i18n import language, show_error, t
from ui.models import classifier

require_frame()

REGISTRY_CHOICE = "registry:" + models.DEFAULT_MODEL  # Classify's default, offline model

st.title(f":material/rocket_launch: {t('deploy.title')}")
st.caption(t("deploy.intro"))

# 1. Model ---------------------------------------------------------------------------------
trained = state.trained_models()
choices = [*trained, REGISTRY_CHOICE]
labels = {name: t("deploy.trained_model", name=name) for name in trained}
labels[REGISTRY_CHOICE] = t(
    "deploy.registry_model", title=models.get_record(models.DEFAULT_MODEL).title
)
choice = st.selectbox(
    t("deploy.model"),
    choices,
    format_func=labels.__getitem__,  # a table built in this run: AppTest formats values too
    key="deploy_model",
)
if not trained:
    st.info(t("deploy.no_trained"), icon=":material/model_training:")
    st.page_link("pages/train.py", label=t("deploy.open_train"), icon=":material/arrow_forward:")
if choice == REGISTRY_CHOICE:
    try:
        subject = deploy.from_classifier(classifier(models.DEFAULT_MODEL))
    except PlaygroundError as error:
        show_error(error)
        state.stop()
    st.caption(t("deploy.registry_note"))
else:
    subject = deploy.from_trained(trained[choice])

formats = st.multiselect(
    t("deploy.formats"),
    list(subject.formats),
    default=list(subject.formats),
    format_func={format: t(f"deploy.format_{format}") for format in subject.formats}.__getitem__,
    key=f"deploy_formats_{subject.slug}",
)
job = jobs.jobs().get(subject.title)
running = job is not None and job.active
if st.button(t("deploy.run"), type="primary", key="deploy_run", disabled=running or not formats):
    job = jobs.DeployJob(
        subject,
        formats=tuple(f for f in subject.formats if f in formats),
        images=jobs.check_images(subject, str(state.data_dir())),
        folder=jobs.session_folder(),
        language=language(),
    )
    jobs.jobs()[subject.title] = job
    job.start()
    st.rerun()
if job is None:
    st.info(t("deploy.not_run"), icon=":material/flag:")
    state.stop()


# 2. Results, polled while the job runs ----------------------------------------------------
def results_table() -> pd.DataFrame:
    rows = []
    checks = [job.baseline] if job.baseline else []
    checks += [row.check for row in job.rows.values() if row.check is not None]
    eager = job.baseline.seconds_per_image if job.baseline else None
    for check in checks:
        exported = job.rows[check.format].exported if check.format in job.rows else None
        rows.append(
            (
                t(f"deploy.format_{check.format}"),
                exported.path.name if exported else "",
                f"{exported.size / 1024:,.0f} KB" if exported else "",
                check.runtime,
                f"{check.max_abs_difference:.1e}",
                f"{check.top1_agreements} / {check.images}",
                f"{check.load_seconds * 1000:,.0f}",
                f"{check.seconds_per_image * 1000:.2f}",
                f"{check.seconds_per_image / eager:.2f}×" if eager else "",
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            t(f"deploy.column_{name}")
            for name in (
                "format", "file", "size", "runtime", "difference", "agreement", "load", "latency",
                "ratio",
            )
        ],
    )  # fmt: skip


def show_status() -> None:
    if running and not job.active:
        st.rerun()  # the job just ended: redraw the page with every file and code block
    if job.active:
        current = t(f"deploy.format_{job.current}") if job.current else t("deploy.format_eager")
        done = sum(1 for row in job.rows.values() if row.check or row.error)
        st.progress(
            done / len(job.formats),
            text=t("deploy.progress", format=current, done=done, total=len(job.formats)),
        )
    st.caption(t("deploy.images", photos=job.images.photos, cifar=job.images.cifar))
    st.dataframe(results_table(), hide_index=True, width="stretch", key="deploy_table")
    for format, row in job.rows.items():
        if row.error is not None:  # the core error, worded with the target's own name
            params = {**row.error.params, "format": t(f"deploy.format_{format}")}
            st.error(t(f"errors.{row.error.key}", **params), icon=":material/error:")


st.header(t("deploy.results_header"))
st.fragment(show_status, run_every=jobs.POLL_SECONDS if running else None)()
if job.failure is not None:
    raise job.failure
if job.active:
    state.stop()

# 3. Each target: the file, the code that makes it and the code that loads it -------------
st.header(t("deploy.targets_header"))
lang = language()
done = [format for format, row in job.rows.items() if row.exported is not None]
if not done:
    state.stop()
for tab, format in zip(st.tabs([t(f"deploy.format_{f}") for f in done]), done, strict=True):
    exported = job.rows[format].exported
    key = f"deploy_{format}"
    tab.markdown(t(f"deploy.about_{format}"))
    tab.download_button(
        t("deploy.download", name=exported.path.name, size=exported.size / 1024),
        data=exported.path.read_bytes(),
        file_name=exported.path.name,
        mime="application/octet-stream",
        key=f"{key}_download",
        icon=":material/download:",
        on_click="ignore",
    )
    if exported.warnings:
        message = " ".join(exported.warnings)
        tab.warning(t("deploy.warning", message=message), icon=":material/warning:")
    if format == "cpp":
        tab.subheader(t("deploy.cpp_files"))
        for name, text in deploy.cpp_files(subject, language=lang).items():
            kind = {"main.cpp": "cpp", "CMakeLists.txt": "cmake"}.get(name, "python")
            show_code(text, file_name=name, key=f"{key}_{name}", language=kind, where=tab)
        tab.subheader(t("deploy.cpp_commands"))
        show_code(
            deploy.cpp_commands(subject, language=lang),
            file_name="build.sh",
            key=f"{key}_commands",
            language="bash",
            where=tab,
        )
        continue
    if format not in ("state_dict", "hub"):
        tab.subheader(t("deploy.export_code"))
        show_code(
            deploy.export_code(format, subject, language=lang),
            file_name=f"export_{format}.py",
            key=f"{key}_export_code",
            where=tab,
        )
    if format == "hub":
        tab.subheader("hubconf.py")
        show_code(
            deploy.hubconf_code(subject, language=lang),
            file_name="hubconf.py",
            key=f"{key}_hubconf",
            where=tab,
        )
    tab.subheader(t("deploy.load_code"))
    show_code(
        deploy.load_code(format, subject, language=lang),
        file_name=f"load_{format}.py",
        key=f"{key}_load_code",
        where=tab,
    )

st.header(t("deploy.torchserve_header"))
st.info(t("deploy.torchserve"), icon=":material/info:")

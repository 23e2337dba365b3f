from hazegov.logs import rule_log
from hazegov.paper.stages import run_render

with rule_log(snakemake.log[0]):  # noqa: F821
    formats = snakemake.params.formats  # noqa: F821
    run_render(
        build_dir=snakemake.params.build_dir,  # noqa: F821
        outputs=dict(zip(formats, snakemake.output, strict=True)),  # noqa: F821
        renderer=snakemake.params.renderer,  # noqa: F821
    )

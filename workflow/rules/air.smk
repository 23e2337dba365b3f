# Air-quality strand: real hourly PM2.5 of Beijing (UCI "Beijing PM2.5 Data" and any other
# PRSA-family station files) and the official annual series -> severity, trend, interrupted time
# series around the September 2013 State Council plan. Settings: config/air_quality.yaml, read as
# config["air_quality"]. Nothing is fetched at run time; the station files are hash-checked.

AIR_TABLES = (
    "daily",
    "monthly",
    "annual",
    "trend",
    "trend_decomposition",
    "its",
    "its_monthly_fit",
    "official",
)
AIR_VARIABLES = "results/analysis/air/variables.yml"
# Its tables and figures in the paper: hazegov.strands.STRANDS["air_quality"].


rule air_quality_data:
    """Check each station file's sha256, read and validate it into one tidy hourly table."""
    input:
        # the station files (read through params.stations, which names and describes them)
        [station["file"] for station in config["air_quality"]["stations"]],
    output:
        hourly="results/interim/air/hourly.parquet",
        report="results/interim/air/hourly_report.json",
    params:
        stations=config["air_quality"]["stations"],
    log:
        "logs/air_quality_data.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"


rule air_quality_analysis:
    """Daily/monthly/annual means, exceedance days, trends by station, ITS, official series."""
    input:
        hourly="results/interim/air/hourly.parquet",
        official=config["air_quality"]["official"],
    output:
        **{t: f"results/analysis/air/{t}.csv" for t in AIR_TABLES},
        summary="results/analysis/air/summary.json",
        variables=AIR_VARIABLES,
        annual_table=f"{PAPER_BUILD_DIR}/tables/air_annual.md",
        its_table=f"{PAPER_BUILD_DIR}/tables/its.md",
        stations_table=f"{PAPER_BUILD_DIR}/tables/air_stations.md",
        calendar=report(
            f"{PAPER_BUILD_DIR}/figures/pm25_calendar.png",
            caption="../report/air_calendar.rst",
            category="Air quality",
        ),
        its_figure=report(
            f"{PAPER_BUILD_DIR}/figures/pm25_monthly_its.png",
            caption="../report/air_its.rst",
            category="Air quality",
        ),
        official_figure=report(
            f"{PAPER_BUILD_DIR}/figures/pm25_official_annual.png",
            caption="../report/air_official.rst",
            category="Air quality",
        ),
        stations_figure=report(
            f"{PAPER_BUILD_DIR}/figures/pm25_stations.png",
            caption="../report/air_stations.rst",
            category="Air quality",
        ),
    params:
        settings=config["air_quality"],
    log:
        "logs/air_quality_analysis.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/run_stage.py"

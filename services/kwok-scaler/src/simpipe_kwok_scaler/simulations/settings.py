from pydantic_settings import SettingsConfigDict

from simpipe_common.settings import ENV_PREFIX, EnergySettings


class SimulationSettings(EnergySettings):
    """The simulation engine's own settings (a mixin of KwokScalerSettings).
    Simulated runs and their pods live in
    KubernetesSettings.simulation_namespace, apart from the dry runs on real
    nodes; the simulations' records (a ConfigMap each) in the scaler's own."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # The emulated cAdvisor's scrape intervals, standard, fast (small
    # clusters) and coarse (the biggest: clusters/scrape.py): a step shorter (in wall time) than
    # three scrapes leaves no usage series, so the time scale is bounded by
    # the interval of the simulation's cluster.
    simulation_scrape_interval_seconds: float = 1.0
    simulation_fast_scrape_interval_seconds: float = 0.25
    simulation_coarse_scrape_interval_seconds: float = 5.0
    # Wall-clock bound of one simulation: past it, its runs are stopped.
    simulation_deadline_seconds: float = 1800.0
    # At most this often a SimulationProgressed event per simulation.
    simulation_progress_interval_seconds: float = 1.0
    # Bounds on what a request may ask for.
    simulation_max_copies: int = 1000
    simulation_max_steps: int = 500
    simulation_max_time_scale: float = 1000.0
    # How often a running simulation's observations are written to its record.
    simulation_checkpoint_seconds: float = 2.0
    # A simulation with pods that cannot be scheduled and nothing running is
    # given this long (wall) for the cluster to change before it ends.
    simulation_unschedulable_grace_seconds: float = 5.0
    reports_bucket: str = "simpipe-reports"
    report_url_seconds: int = 3600

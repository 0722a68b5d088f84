from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .fragments import SummaryFields


class DryRunReport(BaseModel):
    dry_run: "DryRunReportDryRun" = Field(alias="dryRun")


class DryRunReportDryRun(BaseModel):
    id: str
    report: Optional["DryRunReportDryRunReport"]
    metrics_summary: "DryRunReportDryRunMetricsSummary" = Field(alias="metricsSummary")


class DryRunReportDryRunReport(BaseModel):
    uid: str
    phase: str
    created_at: str = Field(alias="createdAt")
    url: str
    parquet_url: str = Field(alias="parquetUrl")
    url_expires_seconds: int = Field(alias="urlExpiresSeconds")


class DryRunReportDryRunMetricsSummary(BaseModel):
    run: "DryRunReportDryRunMetricsSummaryRun"
    steps: list["DryRunReportDryRunMetricsSummarySteps"]


DryRunReportDryRunMetricsSummaryRun = SummaryFields


class DryRunReportDryRunMetricsSummarySteps(BaseModel):
    node_id: str = Field(alias="nodeId")
    display_name: str = Field(alias="displayName")
    pod_name: str = Field(alias="podName")
    summary: "DryRunReportDryRunMetricsSummaryStepsSummary"


DryRunReportDryRunMetricsSummaryStepsSummary = SummaryFields

"""The collector's results as simpipe.v1 messages."""

from dataclasses import asdict

from simpipe.v1 import metrics_collector_pb2 as pb
from simpipe_common.energy import EnergyModel
from simpipe_metrics_collector.collector import RunMeasures
from simpipe_metrics_collector.scaling import Fit, NodeData, NodeLaws, Prediction
from simpipe_metrics_collector.summaries import Summary


def summary_message(summary: Summary) -> pb.MetricsSummary:
    return pb.MetricsSummary(**asdict(summary))


def run_summary_message(measures: RunMeasures, model: EnergyModel) -> pb.RunSummary:
    return pb.RunSummary(
        dry_run_id=measures.dry_run.id,
        run=summary_message(measures.run),
        steps=[
            pb.StepSummary(
                node_id=step.node_id,
                display_name=step.display_name,
                pod_name=step.pod_name,
                summary=summary_message(measured.summary),
            )
            for step, measured in measures.steps
        ],
        energy_model=pb.EnergyModel(**asdict(model)),
    )


def node_data_message(data: NodeData) -> pb.AggregatedNodeMetrics:
    return pb.AggregatedNodeMetrics(**asdict(data))


def node_data(message: pb.AggregatedNodeMetrics) -> NodeData:
    return NodeData(
        cpu=list(message.cpu),
        mem=list(message.mem),
        file_size=list(message.file_size),
        duration=list(message.duration),
        node_id=list(message.node_id),
    )


def fit_message(found: Fit) -> pb.ScalingLawData:
    return pb.ScalingLawData(coeffs=list(found.coeffs), type=found.type.value, r2=found.r2)


def laws_message(laws: NodeLaws) -> pb.NodesScalingLaws:
    return pb.NodesScalingLaws(
        node_name=laws.node_name,
        cpu=fit_message(laws.cpu),
        mem=fit_message(laws.mem),
        duration=fit_message(laws.duration),
        data=node_data_message(laws.data),
    )


def prediction_message(prediction: Prediction) -> pb.ScalingPrediction:
    return pb.ScalingPrediction(**asdict(prediction))

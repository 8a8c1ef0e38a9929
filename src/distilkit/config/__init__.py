"""Every command's typed config, and the recipe/flag machinery that fills them (imports nothing of ours but errors)."""

from distilkit.config.commands import (
    TEMPERATURE_SCHEDULES,
    AugmentConfig,
    DemoConfig,
    DistillConfig,
    EvaluateConfig,
    FinetuneConfig,
    LabelConfig,
    PredictConfig,
)
from distilkit.config.data import AUGMENT_METHODS, AugmentOptions, CorpusConfig, TaskDataConfig, TrainingDataConfig, TransferDataConfig
from distilkit.config.deploy import BenchConfig, ExportConfig, LoadTestConfig, ServeConfig
from distilkit.config.flags import add_config_arguments, model_names, unknown_flag_message
from distilkit.config.ladder import DEFAULT_STUDENTS, LadderConfig
from distilkit.config.parsing import build_config, coerce, config_from_args, load_recipe, opt, save_recipe
from distilkit.config.pretraining import GeneralDistillConfig, PretrainConfig
from distilkit.config.report import ReportConfig
from distilkit.config.training import (
    LAYER_SELECTIONS,
    FreshStudentConfig,
    ModelAccessConfig,
    OptimizerConfig,
    RunDirConfig,
    StepsConfig,
    StudentConfig,
    TrainConfig,
)
from distilkit.config.tune import TuneConfig

__all__ = [
    "AUGMENT_METHODS",
    "DEFAULT_STUDENTS",
    "LAYER_SELECTIONS",
    "TEMPERATURE_SCHEDULES",
    "AugmentConfig",
    "AugmentOptions",
    "BenchConfig",
    "CorpusConfig",
    "DemoConfig",
    "DistillConfig",
    "EvaluateConfig",
    "ExportConfig",
    "FinetuneConfig",
    "FreshStudentConfig",
    "GeneralDistillConfig",
    "LabelConfig",
    "LadderConfig",
    "LoadTestConfig",
    "ModelAccessConfig",
    "OptimizerConfig",
    "PredictConfig",
    "PretrainConfig",
    "ReportConfig",
    "RunDirConfig",
    "ServeConfig",
    "StepsConfig",
    "StudentConfig",
    "TaskDataConfig",
    "TrainConfig",
    "TrainingDataConfig",
    "TransferDataConfig",
    "TuneConfig",
    "add_config_arguments",
    "build_config",
    "coerce",
    "config_from_args",
    "load_recipe",
    "model_names",
    "opt",
    "save_recipe",
    "unknown_flag_message",
]

"""How fast do tensor trials train: epochs per second of the offline networks, and time to the first trial.

(a) Epochs per second of the offline writer's rendered PyTorch train.py, called in-process as the sandbox
calls it, for its default cnn and mlp, on digits as 8x8 images and on generated 32x32 shapes, with one
thread and with every core. (b) Seconds from the start of ``automl.runner.run`` on ``sklearn:digits_images``
to the end of its first SMAC trial (loading, writing, verification and the fork server's PyTorch import
included). It prints the device first: the same script on a machine with a GPU measures the GPU
(``--device cuda``), which is what the tests cannot. Usage::

    python benchmarks/tensor_speed.py [--epochs 5] [--device auto|cpu|cuda] [--skip-run]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import types
from pathlib import Path
from typing import Any


def datasets(scratch: Path) -> dict[str, dict[str, Any]]:
    """train() datasets: digits as images, and 600 generated 32x32 shapes, each split 80/20."""
    from automl.data.dataset import prepare_dataset
    from automl.data.generated_images import write_shape_folder

    folder = write_shape_folder(scratch / "shapes32", per_class=200, size=32, noise=0.3, seed=0)
    return {name: prepare_dataset(source).search_dataset()
            for name, source in (("digits 8x8", "sklearn:digits_images"), ("shapes 32x32", str(folder)))}  # fmt: skip


def epochs_per_second(dataset: dict[str, Any], algorithm: str, epochs: int, threads: int) -> float:
    """Epochs per second of one train() call of ``epochs`` epochs at the space's defaults for ``algorithm``."""
    from ConfigSpace import Configuration, ConfigurationSpace

    from automl.resources import bundled_dir
    from automl.writers.offline import render_torch_train

    space = ConfigurationSpace.from_json(bundled_dir("configs") / "offline_tensor_image.json")
    defaults = {name: hp.default_value for name, hp in space.items()}
    values = {name: value for name, value in defaults.items()
              if ":" not in name or name.startswith(f"{algorithm}:")}  # fmt: skip
    config = Configuration(space, values={**values, "algorithm": algorithm})
    module = types.ModuleType("automl_generated_train")
    exec(compile(render_torch_train(dataset["task"], float(epochs)), "train.py", "exec"), module.__dict__)
    os.environ["AUTOML_N_JOBS"] = str(threads)
    module.train(config, dataset, 0, 1.0)  # warm-up: first-call allocations
    started = time.perf_counter()
    module.train(config, dataset, 0, float(epochs))
    return epochs / (time.perf_counter() - started)


def first_trial_seconds(device: str, scratch: Path) -> dict[str, float]:
    """Seconds from runner.run's start to the end of the first trial, and the run's whole time."""
    from automl.config import RunConfig, ScenarioSettings
    from automl.runner import run

    settings = ScenarioSettings.load("default").with_overrides(walltime_limit=60.0, n_trials=3)
    config = RunConfig(data="sklearn:digits_images", out=scratch / "run", scenario=settings, device=device, bag=False)
    started = time.time()
    result = run(config)
    history = json.loads(next((scratch / "run" / "smac").rglob("runhistory.json")).read_text())["data"]
    first = min(entry["endtime"] for entry in history)
    return {"first_trial_s": first - started, "run_s": time.time() - started,
            "test_accuracy": result.summary.test_metrics["accuracy"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="epochs per timed train() call (default 5)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--skip-run", action="store_true", help="only (a): no automl run")
    args = parser.parse_args()
    import torch

    from automl.stages.prepare import tensor_device

    device = tensor_device(args.device)
    os.environ["AUTOML_DEVICE"] = device
    name = torch.cuda.get_device_name(0) if device == "cuda" else f"cpu ({os.cpu_count()} cores)"
    print(f"device: {device}: {name}; torch {torch.__version__}; load average {os.getloadavg()[0]:.1f}\n")
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="automl-tensor-speed-") as scratch:
        print(f"(a) epochs per second, default configuration, {args.epochs} epochs per call")
        print(f"| data | fit rows | network | 1 thread | {cores} threads |")
        print("|---|---:|---|---:|---:|")
        for label, dataset in datasets(Path(scratch)).items():
            for algorithm in ("cnn", "mlp"):
                speeds = [epochs_per_second(dataset, algorithm, args.epochs, threads) for threads in (1, cores)]
                print(f"| {label} | {len(dataset['y'])} | {algorithm} | {speeds[0]:.1f} | {speeds[1]:.1f} |")
        if not args.skip_run:
            timing = first_trial_seconds(device, Path(scratch))
            first, whole, accuracy = timing["first_trial_s"], timing["run_s"], timing["test_accuracy"]
            print(f"\n(b) sklearn:digits_images, 3 trials: first trial done {first:.1f} s after the run started; "
                  f"whole run {whole:.1f} s; test accuracy {accuracy:.4f}")  # fmt: skip
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

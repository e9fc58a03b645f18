"""Throughput of `spinebench eval` against a local OpenAI-compatible stub that answers instantly.

Generates a benchmark of N questions (sharing a few small JPEG images, so disk is not what is measured),
starts the stub server in its own process (its CPU is not ours), and runs the full pipeline: stream
questions, build prompts, encode images, HTTP through the official client, extract, append predictions,
score. Each size runs in a fresh process so peak RSS is comparable across N.

    python bench/eval_throughput.py                 # N = 5,000, 10,000, 20,000
    python bench/eval_throughput.py --sizes 20000 --model random   # harness alone, no HTTP

Prints questions/second, harness CPU ms per question (user + system of this process) and peak RSS.
Target: under 2 ms CPU per question, and memory flat as N grows.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spinebench.benchmark import Benchmark, BenchmarkWriter, Question
from spinebench.models import ProviderOptions
from spinebench.run import EvalSettings, evaluate
from spinebench.synth import PhantomSpec, render_phantom
from spinebench.taxonomy import ANSWER_CLASSES, LETTERS, LEVELS

STUB_ANSWER = "The image shows a lumbar spine.\nMy final option: [B]"


def generate(out: Path, size: int, seed: int = 0) -> Benchmark:
    rng = random.Random(seed)
    writer = BenchmarkWriter(out, name=f"throughput-{size}", seed=seed)
    images = []
    for index in range(64):
        buffer = io.BytesIO()
        finding = ANSWER_CLASSES[index % len(ANSWER_CLASSES)]
        render_phantom(PhantomSpec(finding, size=256, seed=index)).save(buffer, format="JPEG", quality=90)
        images.append(writer.add_image(buffer.getvalue()))
    for number in range(size):
        multiple = number % 3 == 2
        options = tuple(rng.sample(LEVELS, 5)) if multiple else tuple(rng.sample(ANSWER_CLASSES, 5))
        answer = (
            tuple(sorted(rng.sample(LETTERS[:5], rng.randint(1, 2)))) if multiple else (rng.choice("ABCDE"),)
        )
        writer.add_question(
            Question(
                id=f"q{number:07d}",
                task="SLL" if multiple else "SDD",
                image=images[number % len(images)],
                question="Which levels are affected?" if multiple else "What is the most likely diagnosis?",
                options=options,
                answer=answer,
                disease="Spondylolisthesis",
                source="synthetic",
                modality="xray",
            )
        )
    writer.close()
    return Benchmark.open(out)


def measure(bench_path: Path, model: str, concurrency: int) -> dict[str, float]:
    bench = Benchmark.open(bench_path)
    size = len(bench)
    with tempfile.TemporaryDirectory() as temp:
        server = None
        options = ProviderOptions()
        if model.startswith("openai:"):
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "spinebench.testing.openai_stub",
                    "--port",
                    "0",
                    "--answer",
                    STUB_ANSWER,
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert server.stdout is not None
            options = ProviderOptions(base_url=server.stdout.readline().strip())
        try:
            settings = EvalSettings(model=model, concurrency=concurrency, provider_options=options)
            before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.perf_counter()
            result = evaluate(bench, Path(temp) / "run", settings)
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_SELF)
        finally:
            if server is not None:
                server.kill()
                server.wait()
    assert result.scores["status"] == "complete", result.scores["counts"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = _peak_rss_mb()
    return {
        "questions": size,
        "questions_per_s": size / wall,
        "cpu_ms_per_question": 1000 * cpu / size,
        "peak_rss_mb": peak,
    }


def _peak_rss_mb() -> float:
    """This process's own peak RSS. ru_maxrss would carry over the parent's peak across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 10_000, 20_000])
    parser.add_argument("--model", default="openai:stub", help="openai:<name> (stub server) or a baseline")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--single", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single is not None:
        print(json.dumps(measure(args.single, args.model, args.concurrency)))
        return
    print(f"model {args.model}, concurrency {args.concurrency}")
    print(f"{'questions':>10} {'q/s':>8} {'CPU ms/q':>9} {'peak RSS MB':>12}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as temp:
            generate(Path(temp) / "bench", size)  # here, so the measured process only evaluates
            child = subprocess.run(
                [sys.executable, __file__, "--single", str(Path(temp) / "bench"), "--model", args.model,
                 "--concurrency", str(args.concurrency)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
        row = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"{row['questions']:>10} {row['questions_per_s']:>8.0f} {row['cpu_ms_per_question']:>9.3f} "
            f"{row['peak_rss_mb']:>12.1f}"
        )


if __name__ == "__main__":
    main()

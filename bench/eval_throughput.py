"""Throughput of `spinebench eval` against a local OpenAI-compatible stub that answers instantly.

Generates a benchmark of N questions, each with its own distinct 256x256 PNG (as ../shared/perf does: no
image is reused, so no in-memory cache flatters the figure), starts the stub server in its own process (its
CPU is not ours), and runs the full pipeline: stream questions, build prompts, convert images, HTTP through
the official client, extract, append predictions, score. Each size runs twice in fresh processes against one
fresh image cache: "cold" converts every image (a benchmark's first run on this machine), "warm" finds them
in the cache (every later run, any model). Peak RSS is per process, so comparable across N.

    python bench/eval_throughput.py                 # N = 2,000 and 8,000
    python bench/eval_throughput.py --sizes 2000 8000 64878
    python bench/eval_throughput.py --sizes 20000 --model random   # harness alone, no HTTP

Prints questions/second, harness CPU ms per question (user + system of this process, from after start-up to
the scores) and peak RSS, then the marginal CPU per question between the first and last size, which
removes fixed costs, and the peak RSS growth per 1,000 questions. Targets (issue 18): at most 1 ms at the
margin, peak RSS under 300 MB at 64,878 questions and growing by less than 1 MB per 1,000. ../shared/perf/
run_sb.sh measures the same against its faster stub, as the peer harnesses were measured.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from spinebench.benchmark import Benchmark, BenchmarkWriter, Question
from spinebench.models import ProviderOptions
from spinebench.run import EvalSettings, evaluate
from spinebench.taxonomy import ANSWER_CLASSES, LETTERS, LEVELS

STUB_ANSWER = "The image shows a lumbar spine.\nMy final option: [B]"


def distinct_png(noise: np.random.Generator) -> bytes:
    """A 256x256 grey PNG of smoothed noise (~47 KB), like ../shared/perf/make_data.py's."""
    coarse = Image.fromarray(noise.integers(0, 256, (32, 32), dtype=np.uint8), "L")
    smooth = np.asarray(coarse.resize((256, 256), Image.Resampling.BILINEAR), dtype=np.int16)
    pixels = np.clip(smooth + noise.integers(-12, 13, (256, 256)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").save(buffer, format="PNG")
    return buffer.getvalue()


def generate(out: Path, size: int, seed: int = 0) -> Benchmark:
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    writer = BenchmarkWriter(out, name=f"throughput-{size}", seed=seed)
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
                image=writer.add_image(distinct_png(noise)),
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
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 8_000])
    parser.add_argument("--model", default="openai:stub", help="openai:<name> (stub server) or a baseline")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--single", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single is not None:
        print(json.dumps(measure(args.single, args.model, args.concurrency)))
        return
    print(f"model {args.model}, concurrency {args.concurrency}, a distinct image per question")
    print(f"{'questions':>10} {'cache':>6} {'q/s':>8} {'CPU ms/q':>9} {'peak RSS MB':>12}")
    cpu: dict[str, dict[int, float]] = {"cold": {}, "warm": {}}
    rss: dict[str, dict[int, float]] = {"cold": {}, "warm": {}}
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as temp:
            generate(Path(temp) / "bench", size)  # here, so the measured process only evaluates
            environment = dict(os.environ, SPINEBENCH_IMAGE_CACHE=str(Path(temp) / "as-sent"))
            for state in ("cold", "warm"):
                child = subprocess.run(
                    [sys.executable, __file__, "--single", str(Path(temp) / "bench"), "--model", args.model,
                     "--concurrency", str(args.concurrency)],
                    capture_output=True, text=True, check=True, env=environment,
                )  # fmt: skip
                row = json.loads(child.stdout.strip().splitlines()[-1])
                cpu[state][size] = row["cpu_ms_per_question"] * size
                rss[state][size] = row["peak_rss_mb"]
                print(
                    f"{row['questions']:>10} {state:>6} {row['questions_per_s']:>8.0f} "
                    f"{row['cpu_ms_per_question']:>9.3f} {row['peak_rss_mb']:>12.1f}"
                )
    if len(args.sizes) > 1:
        first, last = args.sizes[0], args.sizes[-1]
        for state, totals in cpu.items():
            margin = (totals[last] - totals[first]) / (last - first)
            growth = 1000 * (rss[state][last] - rss[state][first]) / (last - first)
            print(
                f"{state}, {first} -> {last}: marginal CPU {margin:.3f} ms per question, "
                f"peak RSS {growth:+.2f} MB per 1,000 questions"
            )


if __name__ == "__main__":
    main()

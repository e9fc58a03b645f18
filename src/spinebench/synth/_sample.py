"""Writes the small synthetic benchmark bundled with the package (`spinebench.benchmark.SAMPLE_PATH`).

It holds phantom images, not patient data: 24 diagnosis questions (two per answer class) and 14
localization questions, with the first image of each class flagged as subset "sub". Its distractors are
drawn from the same spinal region, not from image embeddings; it exercises the harness, its scores mean
nothing medically.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from spinebench.benchmark import Benchmark, BenchmarkWriter, Question
from spinebench.synth.phantoms import PhantomSpec, render_phantom
from spinebench.taxonomy import ANSWER_CLASSES, DISEASES, HEALTHY, LETTERS, LEVELS

_MRI = {"Foraminal stenosis", "Subarticular stenosis", "Spinal canal stenosis"}
_SDD_WORDING = "Based on this spine image, which diagnosis is most likely?"
_SLL_WORDING = "At which lumbar disc levels is {disease} present in this image?"


def _distractors(truth: str, rng: random.Random) -> list[str]:
    region = {d.name: d.region for d in DISEASES}
    others = [d.name for d in DISEASES if d.name != truth]
    same = [name for name in others if region[name] == region.get(truth, "lumbar")]
    rest = [name for name in others if name not in same]
    rng.shuffle(same)
    rng.shuffle(rest)
    wanted = 4 if truth == HEALTHY else 3
    return (same + rest)[:wanted]


def write_sample_benchmark(out: Path, *, seed: int = 0) -> Benchmark:
    """Writes the sample benchmark to `out` (deterministic for a seed) and opens it."""
    rng = random.Random(seed)
    lumbar = {d.name for d in DISEASES if d.region == "lumbar"}
    writer = BenchmarkWriter(out, name="spinebench-sample", seed=seed, build={"synthetic": True})
    sdd: list[Question] = []
    sll: list[Question] = []
    for copy in range(2):
        for class_index, finding in enumerate(ANSWER_CLASSES):
            levels: tuple[str, ...] = ()
            if finding in lumbar:
                first = rng.randrange(len(LEVELS))
                second = rng.randrange(len(LEVELS))
                levels = tuple(sorted({LEVELS[first], LEVELS[second]} if copy else {LEVELS[first]}))
            spec = PhantomSpec(finding, levels, seed=seed * 1000 + copy * 100 + class_index)
            buffer = io.BytesIO()
            render_phantom(spec).save(buffer, format="JPEG", quality=85)
            image = writer.add_image(buffer.getvalue(), what=f"sample image for {finding}")
            subsets = ("sub",) if copy == 0 else ()
            modality = "mri" if finding in _MRI else "xray"
            options = [finding, *_distractors(finding, rng)]
            if finding != HEALTHY:
                options.append(HEALTHY)
            rng.shuffle(options)
            sdd.append(
                Question(
                    id=f"sample-sdd-{len(sdd):03d}",
                    task="SDD",
                    image=image,
                    question=_SDD_WORDING,
                    options=tuple(options),
                    answer=(LETTERS[options.index(finding)],),
                    disease=finding,
                    source="synthetic",
                    modality=modality,
                    subsets=subsets,
                )
            )
            if levels:
                order = list(LEVELS)
                rng.shuffle(order)
                sll.append(
                    Question(
                        id=f"sample-sll-{len(sll):03d}",
                        task="SLL",
                        image=image,
                        question=_SLL_WORDING.format(disease=finding.lower()),
                        options=tuple(order),
                        answer=tuple(sorted(LETTERS[order.index(level)] for level in levels)),
                        disease=finding,
                        source="synthetic",
                        modality=modality,
                        subsets=subsets,
                    )
                )
    for question in sdd + sll:
        writer.add_question(question)
    writer.close()
    return Benchmark.open(out, verify="full")

"""Statistics behind the scores: clustered intervals, paired tests, power, rank intervals, chance lines.

Everything here takes plain numbers and arrays (no questions, no predictions), so the same computations serve
scores.json, the report, comparisons between runs and tests. Clusters are patients where the benchmark
knows them (images otherwise); docs/statistics.md explains each method and why it was chosen.

- `wilson_cluster`: the interval of every accuracy and rate (Wilson at the clustered effective size).
- `bootstrap_ratios`, `percentile_intervals`, `paired_difference`: the cluster bootstrap, for combined
  metrics (overall, balanced accuracy, macro-F1) and paired differences.
- `paired_cluster_test`: cluster sign-flip test and clustered McNemar for two runs on the same questions.
- `minimum_detectable_difference`: power as a function of the discordance rate.
- `rank_intervals`: leaderboard ranks and tie groups from shared cluster resamples.
- Chance lines: what an answerer that ignores the image scores in expectation.
"""

from spinebench.stats._binomial import BinomialTest, McNemarResult, binomial_two_sided, mcnemar_test
from spinebench.stats._bootstrap import (
    BootstrapSettings,
    FloatArray,
    IntArray,
    Interval,
    PairedDifference,
    bootstrap_ci,
    bootstrap_ratios,
    cluster_codes,
    cluster_sums,
    paired_difference,
    percentile_intervals,
    resample_weights,
)
from spinebench.stats._chance import SubsetChance, circular_chance, random_choice_chance, random_subset_chance
from spinebench.stats._paired_test import PairedTest, paired_cluster_test
from spinebench.stats._power import (
    ALPHA,
    POWER,
    TYPICAL_DISCORDANCE,
    DetectableDifference,
    minimum_detectable_difference,
    paired_power,
)
from spinebench.stats._proportion import (
    FEW_CLUSTERS,
    WILSON_CLUSTER,
    ClusteredProportion,
    cluster_variance,
    minority_clusters,
    normal_quantile,
    t_quantile,
    wilson_cluster,
)
from spinebench.stats._ranks import RankInterval, rank_intervals, tie_groups

__all__ = [
    "ALPHA",
    "FEW_CLUSTERS",
    "POWER",
    "TYPICAL_DISCORDANCE",
    "WILSON_CLUSTER",
    "BinomialTest",
    "BootstrapSettings",
    "ClusteredProportion",
    "DetectableDifference",
    "FloatArray",
    "IntArray",
    "Interval",
    "McNemarResult",
    "PairedDifference",
    "PairedTest",
    "RankInterval",
    "SubsetChance",
    "binomial_two_sided",
    "bootstrap_ci",
    "bootstrap_ratios",
    "circular_chance",
    "cluster_codes",
    "cluster_sums",
    "cluster_variance",
    "mcnemar_test",
    "minimum_detectable_difference",
    "minority_clusters",
    "normal_quantile",
    "paired_cluster_test",
    "paired_difference",
    "paired_power",
    "percentile_intervals",
    "random_choice_chance",
    "random_subset_chance",
    "rank_intervals",
    "resample_weights",
    "t_quantile",
    "tie_groups",
    "wilson_cluster",
]

"""Semi-supervised learners inside the label-efficiency protocol."""

import numpy as np

from tenshot.evaluation import label_efficiency
from tenshot.evaluation.semisup import SemiSupervisedSource

TINY = {"epochs": 5, "batch_size": 32, "progress": False}


def test_pool_holds_every_labeled_image_and_the_requested_total(digits_ds):
    source = SemiSupervisedSource("ssae", TINY, n_unlabeled=300)
    source.prepare(digits_ds)
    labeled = np.array([3, 50, 700, 1000])
    pool = source.pool(labeled)
    assert len(pool) == 300 and set(labeled) <= set(pool) and (np.diff(pool) > 0).all()
    assert np.array_equal(pool, source.pool(labeled)), "the same draw for every split"
    every = SemiSupervisedSource("ssae", TINY)  # n_unlabeled=None: all train images
    every.prepare(digits_ds)
    assert len(every.pool(labeled)) == len(digits_ds.x_train)


def test_protocol_scores_the_learners_own_classifier_once_per_split(digits_ds):
    source = SemiSupervisedSource("ssae", TINY, n_unlabeled=600, name="ssae (600)")
    [record] = label_efficiency(digits_ds, [source], [5], probes=("linear",), seeds=2)
    assert record["source"] == "ssae (600)" and record["probe"] == "own"  # its head is the probe
    assert len(record["accuracies"]) == 2 and record["accuracy_mean"] > 0.3  # 10 classes: chance is 0.1
    assert all(sel["n_images"] == 600 and sel["train_seconds"] >= 0 for sel in record["selection"])

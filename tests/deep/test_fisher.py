"""FisherVectorEncoder against skimage.feature.fisher_vector."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gaussmix.deep.fisher import FisherVectorEncoder
from tests._threads import threads
from tests.deep._restore import restored

skimage_feature = pytest.importorskip("skimage.feature")


def _descriptor_sets(seed=0, n_sets=6, n_features=3):
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=3.0, size=(4, n_features))
    return [
        centres[rng.randint(4, size=n)] + rng.normal(size=(n, n_features))
        for n in rng.randint(5, 40, size=n_sets)
    ]


def _same_mixture_in_sklearn(encoder):
    mixture = SklearnGaussianMixture(len(encoder.weights_), covariance_type="diag")
    mixture.weights_ = encoder.weights_
    mixture.means_ = encoder.means_
    mixture.covariances_ = encoder.covariances_
    mixture.precisions_cholesky_ = 1.0 / np.sqrt(encoder.covariances_)
    return mixture


@pytest.mark.parametrize("improved", [False, True])
def test_equals_skimage_after_negating_the_variance_block(improved):
    sets = _descriptor_sets()
    encoder = FisherVectorEncoder(4, improved=improved, random_state=0).fit(sets)
    ours = encoder.transform(sets)
    n_components, n_features = encoder.means_.shape
    assert ours.shape == (len(sets), n_components * (1 + 2 * n_features))
    mixture = _same_mixture_in_sklearn(encoder)
    for descriptors, vector in zip(sets, ours, strict=True):
        theirs = skimage_feature.fisher_vector(descriptors, mixture, improved=improved)
        theirs[n_components * (1 + n_features) :] *= -1
        np.testing.assert_allclose(vector, theirs, rtol=1e-7, atol=1e-10)


def test_three_dimensional_array_equals_list_of_sets():
    rng = np.random.RandomState(1)
    stacked = rng.normal(size=(5, 10, 2))
    encoder = FisherVectorEncoder(3, random_state=0).fit(stacked)
    np.testing.assert_allclose(
        encoder.transform(stacked), encoder.transform(list(stacked))
    )
    norms = np.linalg.norm(encoder.transform(stacked), axis=1)
    np.testing.assert_allclose(norms, 1.0)


def test_restores_from_plain_state():
    sets = _descriptor_sets(2)
    encoder = FisherVectorEncoder(3, random_state=0).fit(sets)
    np.testing.assert_array_equal(
        restored(encoder).transform(sets), encoder.transform(sets)
    )


def test_seed_gives_the_same_vectors_with_one_thread_or_two():
    # enough descriptors for several chunks, so that two threads share the
    # E-step; its Stats are added in chunk order whatever the thread count
    rng = np.random.RandomState(3)
    centres = rng.normal(scale=1.5, size=(4, 3))
    sets = [centres[rng.randint(4, size=15000)] + rng.normal(size=(15000, 3))]
    sets.append(rng.normal(size=(15000, 3)))
    vectors = []
    for n_threads in (1, 2, 2):
        with threads(n_threads):
            encoder = FisherVectorEncoder(4, tol=1e-6, random_state=0).fit(sets)
            vectors.append(encoder.transform(sets))
    np.testing.assert_array_equal(vectors[1], vectors[0])
    np.testing.assert_array_equal(vectors[2], vectors[0])


def test_bad_input_is_named():
    encoder = FisherVectorEncoder(2, random_state=0)
    with pytest.raises(ValueError, match="same dimension"):
        encoder.fit([np.zeros((4, 3)), np.zeros((4, 2))])
    with pytest.raises(ValueError, match="3-D array"):
        encoder.fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        encoder.fit([np.full((4, 2), np.nan)])
    with pytest.raises(ValueError, match="non-empty 2-D"):
        encoder.fit([np.zeros((0, 2))])
    with pytest.raises(TypeError, match="list of descriptor arrays"):
        encoder.fit("descriptors")
    with pytest.raises(ValueError, match="alpha"):
        FisherVectorEncoder(alpha=2.0).fit([np.zeros((4, 2))])
    fitted = FisherVectorEncoder(2, random_state=0).fit(_descriptor_sets())
    with pytest.raises(ValueError, match="2 features but the others have 3"):
        fitted.transform([np.zeros((5, 2))])


def test_descriptors_at_the_mixture_give_finite_vectors():
    sets = [np.zeros((6, 2)), np.ones((6, 2))]
    vectors = FisherVectorEncoder(2, random_state=0).fit(sets).transform(sets)
    assert np.all(np.isfinite(vectors))


def test_descriptors_whose_squares_overflow_are_refused_by_set():
    draw = np.random.default_rng(0)
    encoder = FisherVectorEncoder(2, random_state=0)
    encoder.fit([draw.normal(size=(30, 2)) for _ in range(4)])
    far = np.array([[1e160, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match=r"descriptor set 1 .*overflows float64"):
        encoder.transform([draw.normal(size=(5, 2)), far])
    # just below the overflow the improved vector is still a unit vector
    vector = encoder.transform([np.array([[1e150, 0.0], [0.0, 0.0]])])[0]
    assert np.linalg.norm(vector) == pytest.approx(1.0)

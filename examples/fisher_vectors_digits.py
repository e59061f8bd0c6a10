"""Classify scikit-learn's digits from Fisher vectors of dense image patches.

Each 8x8 image becomes a set of local descriptors: every 3x3 patch (stride
1, so 36 per image) with its centre's position appended. A
FisherVectorEncoder learns a diagonal Gaussian mixture over the training
descriptors and turns each image's set into one improved Fisher vector,
which a linear SVM classifies. Prints the test accuracy.

Run: ``python examples/fisher_vectors_digits.py``.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from gaussmix.deep import FisherVectorEncoder

PATCH = 3

logger = logging.getLogger("gaussmix.examples")


def dense_patches(image: np.ndarray) -> np.ndarray:
    """Every PATCH x PATCH patch of an image, with its centre's (row, column)."""
    size = image.shape[0]
    descriptors = []
    for row in range(size - PATCH + 1):
        for column in range(size - PATCH + 1):
            patch = image[row : row + PATCH, column : column + PATCH].ravel()
            centre = np.array([row, column], dtype=float) / (size - PATCH)
            descriptors.append(np.concatenate([patch / 16.0, centre]))
    return np.array(descriptors)


def main() -> float:
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.images,
        digits.target,
        test_size=0.5,
        random_state=0,
        stratify=digits.target,
    )
    train_sets = [dense_patches(image) for image in X_train]
    test_sets = [dense_patches(image) for image in X_test]
    encoder = FisherVectorEncoder(16, improved=True, random_state=0).fit(train_sets)
    classifier = make_pipeline(StandardScaler(), LinearSVC(C=0.1, max_iter=5000))
    classifier.fit(encoder.transform(train_sets), y_train)
    accuracy = classifier.score(encoder.transform(test_sets), y_test)
    logger.info("Fisher vectors of dimension %d", 16 * (1 + 2 * train_sets[0].shape[1]))
    print(f"linear SVM on Fisher vectors: test accuracy {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()

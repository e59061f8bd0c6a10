"""
Fisher vectors of image patches
===============================

Each of scikit-learn's 8×8 digit images becomes a set of local descriptors:
every 3×3 patch (stride 1, so 36 per image) with its centre's position
appended. A :class:`gaussmix.deep.FisherVectorEncoder` learns a diagonal
Gaussian mixture over the training descriptors (the visual vocabulary) and
turns each image's set into one improved Fisher vector, which a linear SVM
classifies.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from gaussmix.deep import FisherVectorEncoder

PATCH = 3


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


digits = load_digits()
X_train, X_test, y_train, y_test = train_test_split(
    digits.images, digits.target, test_size=0.5, random_state=0, stratify=digits.target
)
train_sets = [dense_patches(image) for image in X_train]
test_sets = [dense_patches(image) for image in X_test]

encoder = FisherVectorEncoder(16, improved=True, random_state=0).fit(train_sets)
classifier = make_pipeline(StandardScaler(), LinearSVC(C=0.1, max_iter=5000))
classifier.fit(encoder.transform(train_sets), y_train)
predicted = classifier.predict(encoder.transform(test_sets))
print(f"Fisher vectors of dimension {16 * (1 + 2 * train_sets[0].shape[1])}")
print(f"linear SVM on Fisher vectors: test accuracy {np.mean(predicted == y_test):.3f}")

# %%
# Left: the vocabulary, each component's mean patch (its first nine
# coordinates) with its weight; the last two coordinates place it in the
# image. Right: where the classifier errs on the test images.

fig = plt.figure(figsize=(13, 5.5), layout="constrained")
vocabulary, confusion = fig.subfigures(1, 2, width_ratios=[1, 1.1])
patch_axes = vocabulary.subplots(4, 4)
order = np.argsort(encoder.weights_)[::-1]
for ax, k in zip(patch_axes.ravel(), order, strict=True):
    ax.imshow(encoder.means_[k, :9].reshape(3, 3), cmap="gray_r", vmin=0, vmax=1)
    row, column = encoder.means_[k, 9:] * (8 - PATCH)
    ax.set_title(f"w={encoder.weights_[k]:.2f} at ({row:.0f},{column:.0f})", fontsize=8)
    ax.set_axis_off()
vocabulary.suptitle("mean patch of each component")
ax = confusion.subplots()
ConfusionMatrixDisplay.from_predictions(y_test, predicted, ax=ax, colorbar=False)
ax.set_title("test images: true digit against predicted")
plt.show()
